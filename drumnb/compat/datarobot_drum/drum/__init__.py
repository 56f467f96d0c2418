"""``datarobot_drum.drum``: the exception classes and enumerations hooks use."""
