"""Which fields each state type accepts, in each query language (the ASL field matrix)."""

from __future__ import annotations

COMMON = {"Type", "Comment", "QueryLanguage"}
JSONPATH_ONLY = {
    "InputPath",
    "OutputPath",
    "Parameters",
    "ResultSelector",
    "ResultPath",
    "ItemsPath",
    "TimeoutSecondsPath",
    "HeartbeatSecondsPath",
    "SecondsPath",
    "TimestampPath",
    "ErrorPath",
    "CausePath",
    "MaxConcurrencyPath",
    "ToleratedFailureCountPath",
    "ToleratedFailurePercentagePath",
    "Result",
    "Iterator",
}
JSONATA_ONLY = {"Arguments", "Output", "Items"}

TRANSITION = {"Next", "End"}
TASK_LIKE = {"Retry", "Catch", "Assign"}

BY_TYPE: dict[str, set[str]] = {
    "Pass": COMMON
    | TRANSITION
    | {"InputPath", "OutputPath", "Parameters", "ResultPath", "Result", "Assign", "Output"},
    "Task": COMMON
    | TRANSITION
    | TASK_LIKE
    | {
        "Resource",
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
        "Arguments",
        "Output",
        "Queue",
    },
    "Choice": COMMON | {"InputPath", "OutputPath", "Choices", "Default", "Assign", "Output"},
    "Wait": COMMON
    | TRANSITION
    | {
        "InputPath",
        "OutputPath",
        "Seconds",
        "Timestamp",
        "SecondsPath",
        "TimestampPath",
        "Assign",
        "Output",
    },
    "Succeed": COMMON | {"InputPath", "OutputPath", "Output"},
    "Fail": {"Type", "Comment", "QueryLanguage", "Error", "Cause", "ErrorPath", "CausePath"},
    "Parallel": COMMON
    | TRANSITION
    | TASK_LIKE
    | {
        "Branches",
        "InputPath",
        "OutputPath",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Arguments",
        "Output",
    },
    "Map": COMMON
    | TRANSITION
    | TASK_LIKE
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "Items",
        "ItemSelector",
        "Parameters",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ResultSelector",
        "ResultPath",
        "InputPath",
        "OutputPath",
        "Output",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "Label",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
    },
}
TERMINAL = {"Choice", "Succeed", "Fail"}

RETRIER = {
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
}
CATCHER = {"ErrorEquals", "Next", "ResultPath", "Comment", "Assign", "Output"}
CHOICE_RULE_JSONATA = {"Condition", "Next", "Assign", "Output", "Comment"}
PROCESSOR = {"StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage"}
BRANCH = {"StartAt", "States", "Comment", "QueryLanguage"}
ITEM_BATCHER = {
    "MaxItemsPerBatch",
    "MaxItemsPerBatchPath",
    "MaxInputBytesPerBatch",
    "MaxInputBytesPerBatchPath",
    "BatchInput",
}

PREDEFINED_ERRORS = {
    "States.ALL",
    "States.HeartbeatTimeout",
    "States.Timeout",
    "States.TaskFailed",
    "States.Permissions",
    "States.ResultPathMatchFailure",
    "States.ParameterPathFailure",
    "States.BranchFailed",
    "States.NoChoiceMatched",
    "States.IntrinsicFailure",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "States.ResultWriterFailed",
    "States.QueryEvaluationError",
    "States.Runtime",
    "States.DataLimitExceeded",
    "States.Http.Socket",
}
