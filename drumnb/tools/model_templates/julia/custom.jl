# Hooks of a DRUM custom inference model in Julia (MLJ), written by `drumnb new model`.
#
# DRUM and drumnb find these functions by name; every hook is optional.  They run in this order:
#   init(code_dir; kwargs...)               once, first
#   load_model(code_dir)                    once: returns the model (an MLJ machine)
#   read_input_data(input_binary_data)      per request: parses the payload (default: CSV)
#   transform(data, model)                  per request: prepares the features
#   score(data, model; kwargs...)           per request: returns the predictions (default: MLJ.predict)
#   post_process(predictions, model)        per request: last changes to the predictions
#
# Needs Julia with the packages MLJ, JLSO, DataFrames, CSV and MLJLinearModels, and the Python package
# juliacall.  Try it:  drumnb score --code-dir . --input example_input.csv

using DataFrames
using JLSO
using MLJ

const FEATURES = [:x1, :x2, :x3, :x4]

# Called once, before load_model.  code_dir: the model folder.
function init(code_dir; kwargs...)
    nothing
end

# Called once: return the model object (never nothing).  Without this hook DRUM reads the single .jlso file.
function load_model(code_dir)
    JLSO.load(joinpath(code_dir, "model.jlso"))[:model]
end

# Called per request with the raw payload (a Vector{UInt8}); return a DataFrame.
# function read_input_data(input_binary_data)
#     CSV.read(IOBuffer(input_binary_data), DataFrame; missingstring = ["", "NA"])
# end

# Called per request: keep the training features and impute missing values with 0.0 (the training mean).
function transform(data, model)
    out = select(data, FEATURES)
    for f in FEATURES
        out[!, f] = coalesce.(out[!, f], 0.0)
    end
    out
end

# Called per request: a DataFrame with a Predictions column (regression), or one probability column per label.
function score(data, model; kwargs...)
    DataFrame(Predictions = MLJ.predict(model, data))
end

# Called per request with score's DataFrame: the last chance to change it.
function post_process(predictions, model)
    predictions
end
