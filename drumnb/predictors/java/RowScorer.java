// drumnb's scoring helper, compiled once with javac and cached (see drumnb/predictors/java/toolchain.py).
package drumnb;

import java.lang.reflect.Method;
import java.util.HashMap;
import java.util.Map;

/** Scores columns with a predictor whose score(Map) method is given (DataRobot's interfaces). */
public final class RowScorer {
    private RowScorer() {}

    /** Row i of the columns (double[] for numbers, String[] for text; NaN / null = missing, left out). */
    static <M extends Map<String, Object>> M fill(M row, String[] names, Object[] columns, int i) {
        for (int j = 0; j < names.length; j++) {
            Object col = columns[j];
            if (col instanceof double[]) {
                double v = ((double[]) col)[i];
                if (!Double.isNaN(v)) row.put(names[j], v);
            } else {
                String s = ((String[]) col)[i];
                if (s != null) row.put(names[j], s);
            }
        }
        return row;
    }

    public static double[] score(Object predictor, Method score, String[] names, Object[] columns, int n,
                                 String[] labels) throws Exception {
        int k = labels == null ? 1 : labels.length;
        double[] out = new double[n * k];
        for (int i = 0; i < n; i++) {
            Object r;
            try {
                r = score.invoke(predictor, fill(new HashMap<String, Object>(), names, columns, i));
            } catch (java.lang.reflect.InvocationTargetException e) {
                Throwable c = e.getCause() == null ? e : e.getCause();
                throw new IllegalArgumentException("row " + i + ": " + c, c);
            }
            if (labels == null) {
                out[i] = ((Number) r).doubleValue();
            } else {
                Map<?, ?> probs = (Map<?, ?>) r;
                for (int c = 0; c < k; c++) {
                    Object p = probs.get(labels[c]);
                    out[i * k + c] = p == null ? Double.NaN : ((Number) p).doubleValue();
                }
            }
        }
        return out;
    }
}
