# psych reference numbers for the cleaned Brain-Score models x metrics matrix.
#
# Usage (from the project root):
#   Rscript tests/reference/brainscore_reference.R [INPUT_CSV] [OUTPUT_JSON]
# Defaults: INPUT_CSV  = tests/reference/brainscore_cleaned.csv
#           OUTPUT_JSON = tests/reference/brainscore_psych.json
# If the input does not exist the script says so and exits with status 0
# (the cleaned CSV is produced elsewhere in the project).
#
# Input: CSV with a header, one row per model, one column per metric.
# Non-numeric columns (e.g. a model-name column) are dropped and reported.
# Missing values (NA / empty) are allowed: correlations are Spearman with
# use = "pairwise.complete.obs"; n.obs passed to psych is the number of rows
# (nrow), and the pairwise counts are written too.
#
# Requires: apt-get install -y r-cran-psych r-cran-gparotation r-cran-jsonlite

suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})
options(mc.cores = 1L)  # makes set.seed() reproducible for fa.parallel (mclapply)

args_all <- commandArgs(trailingOnly = FALSE)
script_file <- sub("^--file=", "", args_all[grep("^--file=", args_all)])
ref_dir <- if (length(script_file)) dirname(normalizePath(script_file)) else "tests/reference"
source(file.path(ref_dir, "json_writer.R"))

args <- commandArgs(trailingOnly = TRUE)
in_path <- if (length(args) >= 1) args[1] else file.path(ref_dir, "brainscore_cleaned.csv")
out_path <- if (length(args) >= 2) args[2] else file.path(ref_dir, "brainscore_psych.json")

if (!file.exists(in_path)) {
  message("Input not found: ", in_path, " -- nothing to do.")
  quit(save = "no", status = 0)
}

with_warnings <- function(expr) {
  w <- character(0)
  val <- tryCatch(
    withCallingHandlers(expr, warning = function(cond) {
      w <<- c(w, conditionMessage(cond))
      invokeRestart("muffleWarning")
    }),
    error = function(e) structure(list(message = conditionMessage(e)), class = "fit_error"))
  list(value = val, warnings = I(unique(w)),
       error = if (inherits(val, "fit_error")) val$message else NULL)
}
quiet <- function(expr) { res <- NULL; invisible(capture.output(res <- expr)); res }
loadings_json <- function(L) {
  L <- unclass(as.matrix(L))
  list(variables = I(rownames(L)), factors = I(colnames(L)), values = L)
}

raw <- read.csv(in_path, check.names = FALSE, stringsAsFactors = FALSE)
is_num <- vapply(raw, is.numeric, logical(1))
dropped <- names(raw)[!is_num]
X <- as.matrix(raw[, is_num, drop = FALSE])
N <- nrow(X)
p <- ncol(X)
stopifnot(p >= 4)

R <- cor(X, method = "spearman", use = "pairwise.complete.obs")
ev <- eigen(R, symmetric = TRUE, only.values = TRUE)$values

out <- list(
  meta = list(
    generated_by = "tests/reference/brainscore_reference.R",
    R_version = R.version.string,
    psych_version = as.character(packageVersion("psych")),
    GPArotation_version = as.character(packageVersion("GPArotation")),
    number_format = "doubles printed with %.17g (exact round trip); NA/NaN/Inf -> null"
  ),
  input_file = basename(in_path),
  n_rows = N,
  n_obs_used = N,
  dropped_non_numeric_columns = I(dropped),
  n_missing = sum(is.na(X)),
  variables = I(colnames(X)),
  pairwise_count = unname(pairwiseCount(X)),
  spearman = unname(R),
  spearman_call = "cor(X, method='spearman', use='pairwise.complete.obs')",
  eigenvalues = I(ev),
  positive_definite = min(ev) > 0
)

nmap <- min(8, p - 1)
vw <- with_warnings(VSS(R, n = nmap, n.obs = N, rotate = "none", fm = "minres",
                        plot = FALSE))
out$vss <- if (is.null(vw$error)) list(
  call = sprintf("VSS(R, n=%d, n.obs=N, rotate='none', fm='minres', plot=FALSE)", nmap),
  map = I(vw$value$map), map_argmin = which.min(vw$value$map),
  warnings = vw$warnings) else list(error = vw$error)

f1 <- with_warnings(fa(R, nfactors = 1, fm = "minres", n.obs = N))
out$fa1_minres_values <- if (is.null(f1$error)) I(unname(f1$value$values)) else NULL

set.seed(1)
pw <- with_warnings(quiet(fa.parallel(R, n.obs = N, fa = "both", n.iter = 20,
                                      plot = FALSE)))
out$fa_parallel <- if (is.null(pw$error)) list(
  call = "set.seed(1); options(mc.cores=1); fa.parallel(R, n.obs=N, fa='both', n.iter=20, plot=FALSE)",
  note = "Random: compare only the decisions nfact/ncomp.",
  nfact = pw$value$nfact, ncomp = pw$value$ncomp,
  pc_values = I(unname(pw$value$pc.values)), fa_values = I(unname(pw$value$fa.values)),
  warnings = pw$warnings) else list(error = pw$error)

fits <- list()
for (k in c(2, 3)) for (fm in c("minres", "ml")) for (rot in c("none", "oblimin")) {
  key <- sprintf("k%d_%s_%s", k, fm, rot)
  fw <- with_warnings(fa(R, nfactors = k, fm = fm, rotate = rot, n.obs = N))
  if (!is.null(fw$error)) { fits[[key]] <- list(error = fw$error); next }
  f <- fw$value
  fits[[key]] <- list(
    call = sprintf("fa(R, nfactors=%d, fm='%s', rotate='%s', n.obs=N)", k, fm, rot),
    loadings = loadings_json(f$loadings),
    uniquenesses = I(unname(f$uniquenesses)),
    communalities = I(unname(f$communality)),
    Phi = if (is.null(f$Phi)) NULL else unname(as.matrix(f$Phi)),
    values = I(unname(f$values)),
    warnings = fw$warnings)
}
out$fa <- fits

write_json_file(out, out_path)
cat("Wrote", out_path, "\n")
