package com.datarobot.prediction;

import java.util.Map;

/** What every DataRobot predictor tells about itself (a stand-in for the datarobot-prediction artifact). */
public interface IPredictorInfo {
    /** An identifier of the model. */
    String getModelId();

    /** Feature name -> Java type (Double.class for numbers, String.class for text), in training order. */
    Map<String, Class<?>> getFeatures();
}
