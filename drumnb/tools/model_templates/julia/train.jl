# Train the template's model and save it as model.jlso (run: julia train.jl).
using DataFrames, JLSO, MLJ, Random
LinearRegressor = @load LinearRegressor pkg = MLJLinearModels verbosity = 0

Random.seed!(0)
n = 500
X = DataFrame(x1 = randn(n), x2 = randn(n), x3 = randn(n), x4 = randn(n))
y = 3 .* X.x1 .- 2 .* X.x2 .+ X.x3 .* X.x4 .+ 0.1 .* randn(n)
mach = machine(LinearRegressor(), X, y)
fit!(mach; verbosity = 0)
JLSO.save("model.jlso", :model => mach)
println("wrote model.jlso")
