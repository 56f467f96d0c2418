package com.datarobot.prediction;

import java.util.Map;

/** A regression predictor: one number per row. */
public interface IRegressionPredictor extends IPredictorInfo {
    /** Score one row: feature name -> value (Double or String); a missing value is an absent key. */
    double score(Map<String, ?> row);
}
