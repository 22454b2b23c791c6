# Minimal JSON writer with full double precision, shared by the reference scripts.
#
# jsonlite (1.8.4) caps numbers at 15 significant digits even with
# digits = NA or digits = I(17), so values do not round-trip exactly.
# This writer prints every double with "%.17g", which round-trips exactly
# through Python's json/float parsing.
#
# Conventions:
#   * named list            -> JSON object
#   * unnamed list          -> JSON array
#   * numeric/logical matrix -> array of row arrays (row-major)
#   * atomic vector length 1 -> scalar, unless wrapped in I() (then [x])
#   * atomic vector length != 1 -> array (names are dropped)
#   * NA / NaN / +-Inf       -> null
#   * NULL                   -> null

.json_str <- function(x) {
  out <- vapply(x, function(s) {
    if (is.na(s)) return("null")
    as.character(jsonlite::toJSON(s, auto_unbox = TRUE))
  }, character(1))
  unname(out)
}

.json_num <- function(x) {
  out <- ifelse(is.finite(x), sprintf("%.17g", x), "null")
  unname(out)
}

.json_atoms <- function(x) {
  if (is.factor(x)) x <- as.character(x)
  if (is.character(x)) return(.json_str(x))
  if (is.logical(x)) return(ifelse(is.na(x), "null", ifelse(x, "true", "false")))
  if (is.numeric(x)) return(.json_num(as.numeric(x)))
  stop("unsupported atomic type: ", class(x)[1])
}

to_json <- function(x, indent = 0L) {
  pad <- strrep("  ", indent + 1L)
  pad_end <- strrep("  ", indent)
  if (is.null(x)) return("null")
  if (is.data.frame(x)) x <- as.list(x)
  if (is.list(x)) {
    if (length(x) == 0L) return(if (is.null(names(x))) "[]" else "{}")
    nm <- names(x)
    items <- vapply(x, to_json, character(1), indent = indent + 1L)
    if (!is.null(nm) && all(nzchar(nm))) {
      body <- paste0(pad, .json_str(nm), ": ", items)
      return(paste0("{\n", paste(body, collapse = ",\n"), "\n", pad_end, "}"))
    }
    return(paste0("[\n", paste(paste0(pad, items), collapse = ",\n"), "\n", pad_end, "]"))
  }
  if (is.matrix(x)) {
    rows <- vapply(seq_len(nrow(x)), function(i)
      paste0("[", paste(.json_atoms(x[i, ]), collapse = ", "), "]"), character(1))
    if (length(rows) == 0L) return("[]")
    return(paste0("[\n", paste(paste0(pad, rows), collapse = ",\n"), "\n", pad_end, "]"))
  }
  if (is.atomic(x)) {
    as_array <- inherits(x, "AsIs") || length(x) != 1L
    x <- unclass(x)
    a <- .json_atoms(x)
    if (!as_array) return(a)
    return(paste0("[", paste(a, collapse = ", "), "]"))
  }
  stop("unsupported type: ", class(x)[1])
}

write_json_file <- function(x, path) {
  writeLines(to_json(x), path, useBytes = TRUE)
  # Sanity check: the file parses and the numbers survive a round trip.
  back <- jsonlite::fromJSON(path, simplifyVector = FALSE)
  invisible(back)
}
