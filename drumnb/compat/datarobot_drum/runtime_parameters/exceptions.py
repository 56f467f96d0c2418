"""DRUM's runtime-parameter exception names, all meaning drumnb's one :class:`RuntimeParameterError`.

``except InvalidRuntimeParam:`` in a hook therefore catches what drumnb raises
for an undefined, missing or badly typed parameter.
"""
from ....core.params import RuntimeParameterError

RuntimeParameterException = RuntimeParameterError
InvalidRuntimeParam = RuntimeParameterError
InvalidJsonException = RuntimeParameterError
InvalidYamlContent = RuntimeParameterError
InvalidEmptyYamlContent = RuntimeParameterError
InvalidInputFilePath = RuntimeParameterError
ErrorLoadingRuntimeParameter = RuntimeParameterError
