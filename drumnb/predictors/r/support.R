# drumnb's R helpers for the embedded R: calling hooks with errors and warnings captured, reading CSV
# the R way, building data.frames, factors and sparse matrices, and scoring R models.
# drumnb/predictors/r/runtime.py evaluates this file once, in its own environment, when R starts.

invoke <- function(fn, args) {
  ev <- new.env()
  nm <- names(args)
  if (is.null(nm)) nm <- rep("", length(args))
  syms <- vector("list", length(args))
  for (i in seq_along(args)) {
    s <- paste0(".drumnb_arg", i)
    if (is.null(args[[i]])) assign(s, NULL, envir = ev) else assign(s, args[[i]], envir = ev)
    syms[[i]] <- as.name(s)
  }
  names(syms) <- nm
  assign(".drumnb_fn", fn, envir = ev)
  eval(as.call(c(list(as.name(".drumnb_fn")), syms)), ev)
}

locate <- function(calls, root) {
  file <- NA_character_
  line <- NA_integer_
  for (cl in calls) {
    sr <- attr(cl, "srcref")
    if (is.null(sr)) next
    sf <- attr(sr, "srcfile")
    fname <- tryCatch(sf$filename, error = function(e) NULL)
    if (is.null(fname) || !nzchar(fname)) next
    wd <- tryCatch(sf$wd, error = function(e) NULL)
    full <- if (startsWith(fname, "/") || is.null(wd)) fname else file.path(wd, fname)
    full <- normalizePath(full, mustWork = FALSE)
    if (startsWith(full, root)) {
      file <- full
      line <- as.integer(sr[1L])
    }
  }
  list(file = file, line = line)
}

call_safely <- function(fn, args, root) {
  warns <- character(0)
  where <- list(file = NA_character_, line = NA_integer_)
  res <- tryCatch(
    withCallingHandlers(
      list(ok = TRUE, value = invoke(fn, args)),
      warning = function(w) {
        warns <<- c(warns, conditionMessage(w))
        invokeRestart("muffleWarning")
      },
      error = function(e) where <<- locate(sys.calls(), root)
    ),
    error = function(e) {
      cl <- conditionCall(e)
      fname <- if (is.call(cl)) paste(deparse(cl[[1L]], nlines = 1L), collapse = "") else ""
      if (identical(fname, ".drumnb_fn")) fname <- ""
      list(ok = FALSE, message = conditionMessage(e), fname = fname)
    }
  )
  res$warnings <- warns
  res$file <- where$file
  res$line <- where$line
  res
}

source_hooks <- function(path) {
  env <- new.env(parent = globalenv())
  sys.source(path, envir = env, keep.source = TRUE, chdir = TRUE)
  fns <- Filter(function(n) is.function(get(n, envir = env)), ls(env, all.names = FALSE))
  list(env = env, functions = fns)
}

formals_of <- function(fn) {
  f <- formals(fn)
  if (is.null(f)) character(0) else names(f)
}

read_csv_raw <- function(raw) {
  tf <- tempfile("drumnb-", fileext = ".csv")
  on.exit(unlink(tf))
  writeBin(raw, tf)
  utils::read.csv(tf, check.names = FALSE, encoding = "UTF-8")
}

make_df <- function(cols, names, n) {
  names(cols) <- names
  attr(cols, "row.names") <- if (n > 0L) c(NA_integer_, -as.integer(n)) else integer(0)
  class(cols) <- "data.frame"
  cols
}

make_factor <- function(codes, levels) structure(codes, levels = levels, class = "factor")

string_codes <- function(x) {
  u <- unique(x)
  list(u, match(x, u))
}

make_posixct <- function(seconds) structure(seconds, class = c("POSIXct", "POSIXt"), tzone = "UTC")

model_packages <- function(model) {
  pk <- character(0)
  if (inherits(model, "train")) pk <- c("caret", model$modelInfo$library)
  unique(pk[nzchar(pk)])
}

missing_packages <- function(pk) pk[!vapply(pk, function(p) nzchar(system.file(package = p)), logical(1))]

load_packages <- function(pk) {
  for (p in pk) suppressPackageStartupMessages(loadNamespace(p))
  invisible(NULL)
}

make_sparse <- function(i, j, x, nrow, ncol, colnames) {
  Matrix::sparseMatrix(i = i, j = j, x = x, dims = c(nrow, ncol), index1 = FALSE, repr = "T",
                       dimnames = if (is.null(colnames)) NULL else list(NULL, colnames))
}

is_sparse_matrix <- function(x) isS4(x) && methods::is(x, "sparseMatrix")

sparse_parts <- function(m) {
  t <- methods::as(methods::as(m, "generalMatrix"), "TsparseMatrix")
  x <- if (methods::.hasSlot(t, "x")) as.numeric(t@x) else rep(1, length(t@i))
  cn <- colnames(m)
  list(i = t@i, j = t@j, x = x, dim = t@Dim, colnames = if (is.null(cn)) character(0) else cn,
       named = !is.null(cn))
}

as_model_input <- function(model, data) {
  # caret's predict cannot coerce a sparse Matrix (DRUM fails there): it gets a data.frame of the same columns
  if (inherits(model, "train") && isS4(data) && methods::is(data, "Matrix")) {
    data <- as.data.frame(as.matrix(data), optional = TRUE)
  }
  data
}

model_classes <- function(model) {
  if (inherits(model, "train") && identical(model$modelType, "Classification")) as.character(model$levels) else NULL
}

expected_columns <- function(model) {
  if (inherits(model, "train") && is.data.frame(model$ptype)) names(model$ptype) else NULL
}

predict_model <- function(model, data, classification) {
  data <- as_model_input(model, data)
  if (inherits(model, "train")) {
    if (classification) {
      stats::predict(model, newdata = data, type = "prob", na.action = stats::na.pass)
    } else {
      stats::predict(model, newdata = data, na.action = stats::na.pass)
    }
  } else if (classification) {
    out <- tryCatch(stats::predict(model, newdata = data, type = "prob"), error = function(e) NULL)
    if (is.null(out)) out <- stats::predict(model, newdata = data, type = "response")
    out
  } else {
    stats::predict(model, newdata = data)
  }
}

describe <- function(model) paste(class(model), collapse = "/")
