package com.datarobot.prediction;

import java.util.Map;

/** A classification predictor: a probability per class label. */
public interface IClassificationPredictor extends IPredictorInfo {
    /** Score one row: label -> probability (they sum to 1). */
    Map<String, Double> score(Map<String, ?> row);

    /** The class labels, in order (binary: negative first, positive second). */
    String[] getClassLabels();
}
