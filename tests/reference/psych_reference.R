# Reference numbers from R's psych package for the alignfactors Python tests.
#
# Run from the project root:
#   Rscript tests/reference/psych_reference.R
# Requires (Debian): apt-get install -y r-cran-psych r-cran-gparotation r-cran-jsonlite
#
# Writes into tests/reference/:
#   harman74.json, thurstone.json, sim3.json, correlations.json, cor_smooth.json,
#   sim_data.csv, correlations_data.csv
# Every JSON file carries a "meta" block with the R / psych / GPArotation versions.
# Numbers are written with 17 significant digits (exact double round trip),
# see json_writer.R for why jsonlite's own writer is not used.

suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(jsonlite)
})

# fa.parallel uses parallel::mclapply. With more than one core and the default
# RNG, forked children reseed themselves and set.seed() does not make the run
# reproducible. One core makes mclapply a plain lapply, so set.seed(1) works.
options(mc.cores = 1L)

args_all <- commandArgs(trailingOnly = FALSE)
script_file <- sub("^--file=", "", args_all[grep("^--file=", args_all)])
out_dir <- if (length(script_file)) dirname(normalizePath(script_file)) else "tests/reference"
source(file.path(out_dir, "json_writer.R"))

meta <- function(extra = list()) {
  c(list(
    generated_by = "tests/reference/psych_reference.R",
    R_version = R.version.string,
    psych_version = as.character(packageVersion("psych")),
    GPArotation_version = as.character(packageVersion("GPArotation")),
    jsonlite_version = as.character(packageVersion("jsonlite")),
    number_format = "doubles printed with %.17g (exact round trip); NA/NaN/Inf -> null"
  ), extra)
}

# Collect warnings instead of printing them, so fixtures say which fits warned.
with_warnings <- function(expr) {
  w <- character(0)
  val <- withCallingHandlers(expr, warning = function(cond) {
    w <<- c(w, conditionMessage(cond))
    invokeRestart("muffleWarning")
  })
  list(value = val, warnings = I(unique(w)))
}

quiet <- function(expr) {
  res <- NULL
  invisible(capture.output(res <- expr))
  res
}

loadings_json <- function(L) {
  L <- unclass(as.matrix(L))
  list(variables = I(rownames(L)), factors = I(colnames(L)), values = L)
}

sym_matrix_json <- function(M) {
  M <- as.matrix(M)
  list(variables = I(colnames(M)), values = unname(M))
}

# ---------------------------------------------------------------------------
# Velicer MAP by hand.
# psych::VSS()$map is Velicer's (1976) MAP with *squared* partial correlations
# after removing m = 1..n principal components (psych does not report m = 0).
# Velicer, Eaton & Fava (2000) proposed the same statistic with the partial
# correlations raised to the 4th power. psych has no option for that, so both
# are computed here from exactly the formulas in psych:::vss's internal map():
#   comp  = eigenvectors %*% diag(sqrt(eigenvalues))
#   C*    = R - comp[,1:m] %*% t(comp[,1:m])
#   R*    = D^-1/2 C* D^-1/2,  diag(R*) = 0
#   MAP2  = sum(R*^2) / (p (p - 1));  MAP4 = sum(R*^4) / (p (p - 1))
# m = 0 uses R itself (off-diagonal); m runs up to min(n, p - 1).
# The squared variant is checked against psych's map values below.
# ---------------------------------------------------------------------------
velicer_map <- function(R, n) {
  p <- ncol(R)
  e <- eigen(R)
  comp <- e$vectors %*% diag(sqrt(e$values))
  n1 <- min(n, p - 1)
  m2 <- m4 <- rep(NA_real_, n1 + 1)
  R0 <- R
  diag(R0) <- 0
  m2[1] <- sum(R0^2) / (p * (p - 1))
  m4[1] <- sum(R0^4) / (p * (p - 1))
  for (i in 1:n1) {
    c11 <- R - comp[, 1:i, drop = FALSE] %*% t(comp[, 1:i, drop = FALSE])
    d <- diag(1 / sqrt(diag(c11)))
    rstar <- d %*% c11 %*% d
    diag(rstar) <- 0
    m2[i + 1] <- sum(rstar^2) / (p * (p - 1))
    m4[i + 1] <- sum(rstar^4) / (p * (p - 1))
  }
  list(m = 0:n1, squared = m2, fourth = m4)
}

fa_fit_json <- function(f) {
  rm <- f$rot.mat
  out <- list(
    loadings = loadings_json(f$loadings),
    uniquenesses = I(unname(f$uniquenesses)),
    communalities = I(unname(f$communality)),
    Phi = if (is.null(f$Phi)) NULL else unname(as.matrix(f$Phi)),
    rot_mat = if (is.null(rm)) NULL else unname(as.matrix(rm)),
    values = I(unname(f$values)),
    e_values = I(unname(f$e.values)),
    STATISTIC = f$STATISTIC,
    PVAL = f$PVAL,
    dof = f$dof,
    RMSEA = unname(f$RMSEA[1]),
    RMSEA_full = I(unname(f$RMSEA)),
    RMSEA_full_names = I(names(f$RMSEA)),
    TLI = f$TLI,
    BIC = f$BIC,
    objective = f$objective,
    null_model = f$null.model,
    null_chisq = f$null.chisq,
    null_dof = f$null.dof,
    chi_empirical = f$chi,
    rms = f$rms,
    crms = f$crms,
    fit = f$fit,
    fit_off = f$fit.off
  )
  out
}

factanal_json <- function(fa_out) {
  list(
    loadings = loadings_json(fa_out$loadings),
    uniquenesses = I(unname(fa_out$uniquenesses)),
    STATISTIC = if (is.null(fa_out$STATISTIC)) NULL else unname(fa_out$STATISTIC),
    dof = fa_out$dof,
    PVAL = if (is.null(fa_out$PVAL)) NULL else unname(fa_out$PVAL),
    objective = unname(fa_out$criteria["objective"]),
    converged = fa_out$converged
  )
}

analyse_matrix <- function(name, R, N, k, description, extra = list()) {
  R <- as.matrix(R)
  p <- ncol(R)
  out <- list(
    meta = meta(),
    dataset = name,
    description = description,
    n_obs = N,
    n_factors = k,
    variables = I(colnames(R)),
    correlation = unname(R)
  )
  out <- c(out, extra)

  out$eigenvalues <- I(eigen(R, symmetric = TRUE, only.values = TRUE)$values)

  # --- VSS / MAP --------------------------------------------------------------
  vw <- with_warnings(VSS(R, n = 8, n.obs = N, rotate = "none", fm = "minres",
                          plot = FALSE))
  v <- vw$value
  hm <- velicer_map(R, 8)
  n1 <- min(8, p - 1)
  stopifnot(isTRUE(all.equal(hm$squared[-1], v$map[1:n1], tolerance = 1e-12)))
  out$vss <- list(
    call = "VSS(R, n=8, n.obs=N, rotate='none', fm='minres', plot=FALSE)",
    map = I(v$map),
    map_argmin = which.min(v$map),
    cfit_1 = I(v$cfit.1),
    cfit_2 = I(v$cfit.2),
    warnings = vw$warnings
  )
  out$map_by_hand <- list(
    note = paste("Computed in R from psych:::vss's map() formulas; 'squared' [m>=1]",
                 "equals psych's VSS()$map, 'fourth' is Velicer-Eaton-Fava (2000)",
                 "4th-power MAP. m=0 is the average over the observed correlations.",
                 "argmin_* count components (0-based m), psych's argmin ignores m=0."),
    m = I(hm$m),
    squared = I(hm$squared),
    fourth = I(hm$fourth),
    argmin_squared_incl_0 = hm$m[which.min(hm$squared)],
    argmin_fourth_incl_0 = hm$m[which.min(hm$fourth)],
    argmin_squared_excl_0 = hm$m[-1][which.min(hm$squared[-1])],
    argmin_fourth_excl_0 = hm$m[-1][which.min(hm$fourth[-1])]
  )

  # --- fa eigenvalues (what fa.parallel calls fa.values) ---------------------
  f1 <- with_warnings(fa(R, nfactors = 1, fm = "minres", n.obs = N))
  out$fa1_minres_values <- I(unname(f1$value$values))

  # --- parallel analysis -----------------------------------------------------
  set.seed(1)
  pw <- with_warnings(quiet(fa.parallel(R, n.obs = N, fa = "both", n.iter = 20,
                                        plot = FALSE)))
  pa <- pw$value
  out$fa_parallel <- list(
    call = "set.seed(1); options(mc.cores=1); fa.parallel(R, n.obs=N, fa='both', n.iter=20, plot=FALSE)",
    note = paste("Random: only the decisions nfact/ncomp are comparable. 'replicates'",
                 "holds the simulated eigenvalues (rows = iterations; first p columns",
                 "PC eigenvalues of random normal data, next p columns fa(…,1,minres)$values);",
                 "R decides with the 95% quantile (type 7) of each column:",
                 "n = first index where observed <= quantile, minus 1."),
    nfact = pa$nfact,
    ncomp = pa$ncomp,
    pc_values = I(unname(pa$pc.values)),
    fa_values = I(unname(pa$fa.values)),
    pc_sim_mean = I(unname(pa$pc.sim)),
    fa_sim_mean = I(unname(pa$fa.sim)),
    pc_sim_q95 = I(unname(apply(pa$values[, 1:p], 2, quantile, 0.95))),
    fa_sim_q95 = I(unname(apply(pa$values[, (p + 1):(2 * p)], 2, quantile, 0.95))),
    replicates = unname(pa$values),
    warnings = pw$warnings
  )

  # --- fa() grid -------------------------------------------------------------
  fits <- list()
  for (fm in c("minres", "ml")) {
    for (rot in c("none", "varimax", "oblimin", "promax")) {
      fw <- with_warnings(fa(R, nfactors = k, fm = fm, rotate = rot, n.obs = N))
      entry <- fa_fit_json(fw$value)
      entry$call <- sprintf("fa(R, nfactors=%d, fm='%s', rotate='%s', n.obs=%d)",
                            k, fm, rot, N)
      entry$warnings <- fw$warnings
      fits[[paste(fm, rot, sep = "_")]] <- entry
    }
  }
  out$fa <- fits

  # --- factanal ---------------------------------------------------------------
  fl <- list()
  for (rot in c("none", "varimax")) {
    fw <- with_warnings(factanal(covmat = R, factors = k, n.obs = N, rotation = rot))
    entry <- factanal_json(fw$value)
    entry$call <- sprintf("factanal(covmat=R, factors=%d, n.obs=%d, rotation='%s')",
                          k, N, rot)
    entry$warnings <- fw$warnings
    fl[[rot]] <- entry
  }
  out$factanal <- fl

  # --- KMO, Bartlett -----------------------------------------------------------
  km <- KMO(R)
  out$kmo <- list(MSA = km$MSA, MSAi = I(unname(km$MSAi)))
  bt <- cortest.bartlett(R, n = N)
  out$bartlett <- list(chisq = bt$chisq, p_value = bt$p.value, df = bt$df)

  out
}

# ===========================================================================
# 1. Harman74
# ===========================================================================
H <- Harman74.cor$cov
harman <- analyse_matrix("Harman74", H, 145, 4,
                         "datasets::Harman74.cor$cov (24 psychological tests), n.obs = 145")
write_json_file(harman, file.path(out_dir, "harman74.json"))

# ===========================================================================
# 2. Thurstone
# ===========================================================================
Th <- as.matrix(psych::Thurstone)
thur <- analyse_matrix("Thurstone", Th, 213, 3,
                       "psych::Thurstone (9 variables), n.obs = 213")
write_json_file(thur, file.path(out_dir, "thurstone.json"))

# ===========================================================================
# 3. Simulated raw data: 150 x 12, three correlated factors
# ===========================================================================
set.seed(20261123)
n_sim <- 150
L_true <- matrix(0, 12, 3)
L_true[1:4, 1] <- c(0.80, 0.70, 0.60, 0.50)
L_true[5:8, 2] <- c(0.75, 0.65, 0.55, 0.45)
L_true[9:12, 3] <- c(0.70, 0.60, 0.50, 0.40)
L_true[4, 2] <- 0.30   # cross-loadings
L_true[8, 3] <- 0.25
Phi_true <- matrix(c(1.0, 0.4, 0.3,
                     0.4, 1.0, 0.2,
                     0.3, 0.2, 1.0), 3, 3, byrow = TRUE)
common <- diag(L_true %*% Phi_true %*% t(L_true))
stopifnot(all(common < 1))
u_true <- 1 - common
Fs <- matrix(rnorm(n_sim * 3), n_sim, 3) %*% chol(Phi_true)
E <- matrix(rnorm(n_sim * 12), n_sim, 12) %*% diag(sqrt(u_true))
X <- Fs %*% t(L_true) + E
# Round via decimal strings so the CSV holds exactly the doubles R uses
# (round(x, 6) alone need not give the double nearest to the printed decimal).
X <- matrix(as.numeric(sprintf("%.6f", X)), nrow(X), ncol(X))
colnames(X) <- paste0("V", 1:12)
write.csv(X, file.path(out_dir, "sim_data.csv"), row.names = FALSE)
X_back <- as.matrix(read.csv(file.path(out_dir, "sim_data.csv")))
stopifnot(identical(unname(X_back), unname(X)))
rownames(L_true) <- colnames(X)
colnames(L_true) <- paste0("F", 1:3)
R_sim <- cor(X)
sim <- analyse_matrix(
  "sim3", R_sim, n_sim, 3,
  paste("Simulated: set.seed(20261123); 150 x 12, 3 correlated factors;",
        "data in sim_data.csv (rounded to 6 decimals before any analysis);",
        "correlation = cor(X) (Pearson)"),
  extra = list(
    data_file = "sim_data.csv",
    true_loadings = loadings_json(L_true),
    true_Phi = Phi_true,
    true_uniquenesses = I(u_true)
  ))
write_json_file(sim, file.path(out_dir, "sim3.json"))

# ===========================================================================
# 4. Correlations on a small integer data set with ties and NA
# ===========================================================================
set.seed(20261124)
n_c <- 40
z <- rnorm(n_c)
mk <- function(lam, lo, hi, scale) {
  v <- round((lo + hi) / 2 + scale * (lam * z + sqrt(1 - lam^2) * rnorm(n_c)))
  as.integer(pmin(hi, pmax(lo, v)))
}
D <- data.frame(
  x1 = mk(0.8, 1, 5, 1.2),    # Likert 1..5, many ties
  x2 = mk(0.6, 1, 5, 1.2),
  x3 = mk(0.4, 0, 10, 3.0),   # 0..10
  x4 = mk(-0.5, 1, 7, 1.5),   # negatively related, 1..7
  x5 = mk(0.0, 1, 3, 0.8)     # unrelated, only 3 levels
)
na_pos <- rbind(c(3, 1), c(7, 2), c(7, 3), c(12, 4), c(20, 5), c(25, 1),
                c(31, 3), c(38, 5))
for (i in seq_len(nrow(na_pos))) D[na_pos[i, 1], na_pos[i, 2]] <- NA
write.csv(D, file.path(out_dir, "correlations_data.csv"), row.names = FALSE,
          na = "NA")
Dm <- as.matrix(D)
pc <- psych::pairwiseCount(Dm)

corr_out <- list(
  meta = meta(),
  description = paste("40 x 5 integer data (set.seed(20261124)) with ties and 8 NA;",
                      "also in correlations_data.csv (NA written as 'NA')."),
  data_file = "correlations_data.csv",
  variables = I(colnames(Dm)),
  data = unname(Dm),
  na_positions_1based = na_pos,
  pairwise_count = unname(pc)
)
for (m in c("pearson", "spearman", "kendall")) {
  r <- cor(Dm, method = m, use = "pairwise.complete.obs")
  ct <- corr.test(Dm, use = "pairwise", method = m, adjust = "none", alpha = 0.05)
  stopifnot(isTRUE(all.equal(unname(r), unname(ct$r))))
  ci <- ct$ci
  idx <- which(lower.tri(r), arr.ind = TRUE)   # column-major, same order as ct$ci
  corr_out[[m]] <- list(
    cor_call = sprintf("cor(x, method='%s', use='pairwise.complete.obs')", m),
    r = unname(r),
    corr_test_call = sprintf("corr.test(x, use='pairwise', method='%s', adjust='none', alpha=0.05)", m),
    n = unname(ct$n),
    t = unname(ct$t),
    p = unname(ct$p),
    se = unname(ct$se),
    ci = list(
      pair_names = I(rownames(ci)),
      pair_index_1based = unname(idx[, c(2, 1)]),
      lower = I(ci$lower),
      r = I(ci$r),
      upper = I(ci$upper),
      p = I(ci$p)
    )
  )
}
# Spearman with pairwise NA handling in R ranks each pair's complete cases
# afresh (not the column-wise ranks). Check, and record the other variant too.
sp_pair <- matrix(1, ncol(Dm), ncol(Dm))
sp_colrank <- cor(apply(Dm, 2, rank, na.last = "keep"), use = "pairwise.complete.obs")
for (i in 1:ncol(Dm)) for (j in 1:ncol(Dm)) if (i != j) {
  ok <- complete.cases(Dm[, i], Dm[, j])
  sp_pair[i, j] <- cor(rank(Dm[ok, i]), rank(Dm[ok, j]))
}
corr_out$spearman$reranked_per_pair <- isTRUE(all.equal(unname(corr_out$spearman$r), sp_pair))
corr_out$spearman_columnwise_ranks_variant <- unname(sp_colrank)
corr_out$notes <- I(c(
  "kendall is tau-b (R's cor).",
  "spearman with pairwise.complete.obs: R re-ranks the complete cases of each pair (see spearman.reranked_per_pair); spearman_columnwise_ranks_variant ranks each column once with NAs kept, for contrast.",
  "corr.test CIs: Fisher z, r -> atanh, +- qnorm(0.975)/sqrt(n_ij - 3), back with tanh, for every method (also Kendall/Spearman); n_ij is the pairwise count.",
  "corr.test p: t = r sqrt(n-2)/sqrt(1-r^2), two-sided with n-2 df, for every method."
))
write_json_file(corr_out, file.path(out_dir, "correlations.json"))

# ===========================================================================
# 5. cor.smooth on non-positive-definite matrices
# ===========================================================================
smooth_case <- function(M, how) {
  ev_in <- eigen(M, symmetric = TRUE)$values
  stopifnot(min(ev_in) < 0)
  sw <- with_warnings(cor.smooth(M))
  S <- sw$value
  list(
    how = how,
    variables = I(colnames(M)),
    input = unname(M),
    input_eigenvalues = I(ev_in),
    call = "psych::cor.smooth(x)  (eig.tol = 10^-12 default)",
    output = unname(S),
    output_eigenvalues = I(eigen(S, symmetric = TRUE)$values),
    warnings = sw$warnings
  )
}
M1 <- matrix(c(
  1.00, 0.90, 0.80, 0.10, 0.30,
  0.90, 1.00, 0.20, 0.60, 0.25,
  0.80, 0.20, 1.00, -0.40, 0.35,
  0.10, 0.60, -0.40, 1.00, 0.20,
  0.30, 0.25, 0.35, 0.20, 1.00), 5, 5, byrow = TRUE,
  dimnames = list(paste0("A", 1:5), paste0("A", 1:5)))
stopifnot(isSymmetric(M1))

# Pairwise-complete correlations from data with structured missingness:
# three disjoint row blocks observe different variable subsets, so the
# pairwise correlations come from different people and need not be PSD.
set.seed(20261125)
nb <- 30
blk <- function(rho) {
  # 5 columns; generate with given 5x5 correlation pattern
  Z <- matrix(rnorm(nb * 5), nb, 5) %*% chol(rho)
  Z
}
r_a <- diag(5); r_a[1, 2] <- r_a[2, 1] <- 0.85
r_b <- diag(5); r_b[2, 3] <- r_b[3, 2] <- 0.85; r_b[4, 5] <- r_b[5, 4] <- 0.7
r_c <- diag(5); r_c[1, 3] <- r_c[3, 1] <- -0.85; r_c[4, 5] <- r_c[5, 4] <- 0.7
Ya <- blk(r_a); Ya[, 3] <- NA            # block a: x1-x2 strongly positive
Yb <- blk(r_b); Yb[, 1] <- NA            # block b: x2-x3 strongly positive
Yc <- blk(r_c); Yc[, 2] <- NA            # block c: x1-x3 strongly negative
Y <- rbind(Ya, Yb, Yc)
Y <- matrix(suppressWarnings(as.numeric(sprintf("%.6f", Y))), nrow(Y), ncol(Y))  # NA stays NA
colnames(Y) <- paste0("y", 1:5)
M2 <- cor(Y, use = "pairwise.complete.obs")

smooth_out <- list(
  meta = meta(),
  cases = list(
    hand_made = smooth_case(M1, "hand-made symmetric matrix with unit diagonal and a negative eigenvalue"),
    pairwise_missing = c(
      smooth_case(M2, paste("cor(Y, use='pairwise.complete.obs') for 90 x 5 data with",
                            "structured missingness (set.seed(20261125), rounded to 6 decimals);",
                            "Y is stored in 'data'")),
      list(data = unname(Y), pairwise_count = unname(pairwiseCount(Y)))
    )
  ),
  note = paste("cor.smooth: eigen-decompose, set eigenvalues < eig.tol to 100*eig.tol,",
               "rescale eigenvalues to sum to p, rebuild, then cov2cor.")
)
write_json_file(smooth_out, file.path(out_dir, "cor_smooth.json"))

cat("Wrote fixtures to", out_dir, "\n")
cat(R.version.string, "| psych", as.character(packageVersion("psych")),
    "| GPArotation", as.character(packageVersion("GPArotation")), "\n")
