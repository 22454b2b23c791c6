# Reference numbers for every extraction x rotation that alignfactors.FactorModel offers.
#
# Run from the project root (a few seconds, deterministic):
#   Rscript tests/reference/factor_grid_reference.R
# Requires R with psych, GPArotation and jsonlite (see README.md in this folder).
# Reads the correlation matrices of harman74.json, thurstone.json and sim3.json (written by
# psych_reference.R) and psych::Harman.Burt; writes tests/reference/factor_grid.json.
#
# Python name -> R call (psych 2.2.9 defaults throughout):
#   method  minres/ml -> psych::fa(R, k, fm=, rotate=, n.obs=);  principal -> psych::principal(R, k, rotate=)
#   rotation none, varimax, quartimax, equamax, geomin_ort (geominT), oblimin, quartimin,
#            promax, geomin_obl (geominQ); "oblimin_gamma0.5" is fa(..., rotate="oblimin", gam=0.5),
#            which psych passes on to GPArotation::oblimin(gam=0.5).
# Harman.Burt (8 variables, n = 172, not positive definite: smoothed) gives Heywood cases with k = 3:
# psych reports $communalities = 1 - the bounded uniqueness and $communality = diag(L Phi L').

suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

args_all <- commandArgs(trailingOnly = FALSE)
script_file <- sub("^--file=", "", args_all[grep("^--file=", args_all)])
out_dir <- if (length(script_file)) dirname(normalizePath(script_file)) else "tests/reference"
source(file.path(out_dir, "json_writer.R"))

with_warnings <- function(expr) {
  w <- character(0)
  val <- withCallingHandlers(tryCatch(expr, error = function(e) list(error = conditionMessage(e))),
                             warning = function(cond) {
    w <<- c(w, conditionMessage(cond))
    invokeRestart("muffleWarning")
  })
  list(value = val, warnings = I(unique(w)))
}

read_corr <- function(name) {
  d <- fromJSON(file.path(out_dir, paste0(name, ".json")), simplifyVector = TRUE)
  R <- as.matrix(d$correlation)
  dimnames(R) <- list(d$variables, d$variables)
  list(R = R, n = d$n_obs, k = d$n_factors)
}

datasets <- list(harman74 = read_corr("harman74"), thurstone = read_corr("thurstone"), sim3 = read_corr("sim3"))
rotations <- c(none = "none", varimax = "varimax", quartimax = "quartimax", equamax = "equamax",
               geomin_ort = "geominT", oblimin = "oblimin", quartimin = "quartimin", promax = "promax",
               geomin_obl = "geominQ")

entry <- function(f) {
  if (!is.null(f$error)) return(list(error = f$error))
  g <- function(x) if (is.null(x)) NULL else x
  list(
    loadings = unname(unclass(as.matrix(f$loadings))),
    Phi = if (is.null(f$Phi)) NULL else unname(as.matrix(f$Phi)),
    communality = I(unname(f$communality)),
    communalities = if (is.null(f$communalities)) NULL else I(unname(f$communalities)),
    uniquenesses = I(unname(f$uniquenesses)),
    STATISTIC = g(f$STATISTIC), dof = g(f$dof), RMSEA = if (is.null(f$RMSEA)) NULL else unname(f$RMSEA[1]),
    TLI = g(f$TLI), BIC = g(f$BIC), objective = g(f$objective), rms = g(f$rms)
  )
}

# psych::fa's promax is kaiser(L, "Promax") but psych::principal's is stats::promax (no Kaiser
# normalisation of the target). alignfactors uses psych::fa's promax for every extraction, so the
# principal + promax reference applies psych::fa's rotation to psych::principal's unrotated loadings.
principal_fa_promax <- function(R, k, n) {
  p0 <- principal(R, nfactors = k, rotate = "none", n.obs = n)
  pro <- kaiser(p0$loadings, rotate = "Promax")
  L <- unclass(as.matrix(pro$loadings))
  list(loadings = L, Phi = pro$Phi, communality = rowSums(L * (L %*% pro$Phi)),
       uniquenesses = 1 - rowSums(L * (L %*% pro$Phi)))
}

fit_one <- function(R, k, n, fm, rot, gam = NULL) {
  with_warnings(if (fm == "principal" && rot == "promax") {
    principal_fa_promax(R, k, n)
  } else if (fm == "principal") {
    principal(R, nfactors = k, rotate = rot, n.obs = n)
  } else if (is.null(gam)) {
    fa(R, nfactors = k, fm = fm, rotate = rot, n.obs = n)
  } else {
    fa(R, nfactors = k, fm = fm, rotate = rot, n.obs = n, gam = gam)
  })
}

cases <- list()
add <- function(ds, R, k, n, fm, pyrot, rrot, gam = NULL) {
  fw <- fit_one(R, k, n, fm, rrot, gam)
  e <- entry(fw$value)
  e$dataset <- ds; e$n_factors <- k; e$n_obs <- n; e$method <- fm; e$rotation <- pyrot
  e$gamma <- if (is.null(gam)) 0 else gam
  e$call <- if (fm == "principal" && rrot == "promax") "kaiser(principal(R, k, rotate='none')$loadings, rotate='Promax')" else
    sprintf("%s(R, %d, %srotate='%s'%s, n.obs=%d)", if (fm == "principal") "principal" else "fa", k,
                    if (fm == "principal") "" else sprintf("fm='%s', ", fm), rrot,
                    if (is.null(gam)) "" else sprintf(", gam=%g", gam), n)
  e$warnings <- fw$warnings
  key <- paste(ds, fm, if (is.null(gam)) pyrot else paste0(pyrot, "_gamma", gam), sep = "/")
  cases[[key]] <<- e
}

for (ds in names(datasets)) {
  d <- datasets[[ds]]
  for (fm in c("minres", "ml", "principal")) {
    for (pyrot in names(rotations)) add(ds, d$R, d$k, d$n, fm, pyrot, rotations[[pyrot]])
    if (fm != "principal") add(ds, d$R, d$k, d$n, fm, "oblimin", "oblimin", gam = 0.5)
  }
}
burt <- as.matrix(psych::Harman.Burt)
for (fm in c("minres", "ml")) for (pyrot in c("none", "oblimin")) add("harman_burt", burt, 3L, 172L, fm, pyrot, pyrot)

out <- list(
  meta = list(generated_by = "tests/reference/factor_grid_reference.R", R_version = R.version.string,
              psych_version = as.character(packageVersion("psych")),
              GPArotation_version = as.character(packageVersion("GPArotation")),
              number_format = "doubles printed with %.17g (exact round trip); NA/NaN/Inf -> null",
              loadings = "psych's order and signs (factors by variance explained, positive column sums)"),
  harman_burt = list(correlation = unname(burt), variables = I(rownames(burt)), n_obs = 172L),
  cases = cases
)
write_json_file(out, file.path(out_dir, "factor_grid.json"))
cat("wrote", length(cases), "cases to", file.path(out_dir, "factor_grid.json"), "\n")
