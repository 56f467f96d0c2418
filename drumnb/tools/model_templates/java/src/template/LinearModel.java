package template;

import com.datarobot.prediction.IRegressionPredictor;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A DRUM Java model, written by `drumnb new model`: one class implementing DataRobot's predictor interface
 * (com.datarobot.prediction.IRegressionPredictor or IClassificationPredictor), packed into model.jar.
 *
 * Java models have no hooks file: DRUM (and drumnb) find the one concrete class of the jar that implements
 * an interface, create it with its public no-argument constructor, and call score() for every row.  The
 * methods below are the whole contract.  Build: ./build.sh (javac + jar); try:
 * drumnb score --code-dir . --input example_input.csv --target-type regression
 */
public class LinearModel implements IRegressionPredictor {
    private static final String[] FEATURES = {"x1", "x2", "x3", "x4"};
    private static final double[] WEIGHTS = {3.0, -2.0, 0.0, 0.0};
    private static final double INTERCEPT = 0.0;

    /** Called once, when the model loads: read coefficients or resources here. */
    public LinearModel() {
    }

    /** An identifier shown by /info/. */
    @Override
    public String getModelId() {
        return "drumnb-template-linear";
    }

    /** The features, in order, with their types: Double.class for numbers, String.class for text. */
    @Override
    public Map<String, Class<?>> getFeatures() {
        Map<String, Class<?>> features = new LinkedHashMap<>();
        for (String name : FEATURES) {
            features.put(name, Double.class);
        }
        return features;
    }

    /**
     * Score one row.  Values are Double (numbers) or String (text); a missing value is an absent key, imputed
     * here with 0.0 (the training mean) so that `drumnb validation`'s null-imputation check passes.
     */
    @Override
    public double score(Map<String, ?> row) {
        double[] x = new double[FEATURES.length];
        for (int i = 0; i < FEATURES.length; i++) {
            Object value = row.get(FEATURES[i]);
            x[i] = value instanceof Number ? ((Number) value).doubleValue() : 0.0;
        }
        double y = INTERCEPT + x[2] * x[3];
        for (int i = 0; i < x.length; i++) {
            y += WEIGHTS[i] * x[i];
        }
        return y;
    }
}
