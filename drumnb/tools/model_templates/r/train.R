# Train the template's model and save it as model.rds (run: Rscript train.R).
# Replace the data and the model with your own; keep saving to the file custom.R loads.
set.seed(0)
n <- 500
d <- data.frame(x1 = rnorm(n), x2 = rnorm(n), x3 = rnorm(n), x4 = rnorm(n))
d$y <- 3 * d$x1 - 2 * d$x2 + d$x3 * d$x4 + rnorm(n, sd = 0.1)
model <- lm(y ~ x1 + x2 + x3 * x4, data = d)
saveRDS(model, "model.rds")
cat("wrote model.rds\n")
