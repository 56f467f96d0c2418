# Hooks of a DRUM custom inference model in R, written by `drumnb new model`.
#
# DRUM and drumnb find these functions by name; every hook is optional.  They run in this order:
#   init(code_dir, ...)                 once, first
#   load_model(code_dir)                once: returns the model object
#   read_input_data(input_binary_data)  per request: parses the payload (default: read.csv)
#   transform(data, model)              per request: prepares the features
#   score(data, model, ...)             per request: returns the predictions (default: predict on the .rds model)
#   post_process(predictions, model)    per request: last changes to the predictions
#
# Try it:  drumnb score --code-dir . --input example_input.csv

features <- c("x1", "x2", "x3", "x4")

# Called once, before load_model.  code_dir: the model folder.  Load libraries and settings here.
init <- function(code_dir, ...) {
  invisible(NULL)
}

# Called once: read the artifact and return the model object (never NULL).
# Without this hook, DRUM reads the single .rds file of the folder (a caret model) itself.
load_model <- function(code_dir) {
  readRDS(file.path(code_dir, "model.rds"))
}

# Called per request with the raw payload (a raw vector); return a data.frame.
# Without this hook the payload is read with read.csv (empty fields and NA become NA).
# read_input_data <- function(input_binary_data) {
#   read.csv(text = rawToChar(input_binary_data), na.strings = c("NA", "", "?"))
# }

# Called per request: keep the training features and impute missing values (0 is the training mean),
# so that `drumnb validation`'s null-imputation check passes.  Returns the data score gets.
transform <- function(data, model) {
  missing <- setdiff(features, names(data))
  if (length(missing) > 0) stop("the input lacks the feature column(s) ", paste(missing, collapse = ", "))
  data <- data[, features, drop = FALSE]
  for (f in features) data[[f]][is.na(data[[f]])] <- 0
  data
}

# Called per request: return a data.frame with one row per input row.
# Regression / anomaly: a numeric column Predictions.  Binary / multiclass: one probability column per
# class label (rows sum to 1).  `...` carries positive_class_label, negative_class_label, class_labels.
score <- function(data, model, ...) {
  data.frame(Predictions = unname(predict(model, newdata = data)))
}

# Called per request with score's data.frame: the last chance to change it (round, clip, rename).
post_process <- function(predictions, model) {
  predictions
}

# For --target-type unstructured:
# score_unstructured <- function(model, data, ...) {
#   kw <- list(...)   # mimetype, charset, query
#   toupper(data)     # a character string, a raw vector, or list(data, list(mimetype = ..., charset = ...))
# }
