// drumnb's scoring helper, compiled once with javac and cached (see drumnb/predictors/java/toolchain.py).
package drumnb;

import hex.genmodel.easy.EasyPredictModelWrapper;
import hex.genmodel.easy.RowData;
import hex.genmodel.easy.prediction.AbstractPrediction;
import hex.genmodel.easy.prediction.BinomialModelPrediction;
import hex.genmodel.easy.prediction.MultinomialModelPrediction;
import hex.genmodel.easy.prediction.OrdinalModelPrediction;
import hex.genmodel.easy.prediction.RegressionModelPrediction;

/** Scores columns (double[] for numbers, String[] for categoricals; NaN / null = missing) with H2O
 *  (compiled together with RowScorer, whose fill() builds each row). */
public final class H2OScorer {
    private H2OScorer() {}

    public static double[] score(EasyPredictModelWrapper w, String[] names, Object[] columns, int n, int k)
            throws Exception {
        double[] out = new double[n * k];
        for (int i = 0; i < n; i++) {
            RowData row = RowScorer.fill(new RowData(), names, columns, i);
            AbstractPrediction p;
            try {
                p = w.predict(row);
            } catch (Exception e) {
                throw new IllegalArgumentException("row " + i + ": " + e.getMessage(), e);
            }
            if (p instanceof RegressionModelPrediction) {
                out[i] = ((RegressionModelPrediction) p).value;
            } else {
                double[] probs;
                if (p instanceof BinomialModelPrediction) probs = ((BinomialModelPrediction) p).classProbabilities;
                else if (p instanceof MultinomialModelPrediction)
                    probs = ((MultinomialModelPrediction) p).classProbabilities;
                else if (p instanceof OrdinalModelPrediction) probs = ((OrdinalModelPrediction) p).classProbabilities;
                else throw new IllegalArgumentException("drumnb scores regression and classification H2O models, not "
                                                        + p.getClass().getSimpleName());
                System.arraycopy(probs, 0, out, i * k, k);
            }
        }
        return out;
    }
}
