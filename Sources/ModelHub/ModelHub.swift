@_exported import Formats
@_exported import Hub
@_exported import Models
@_exported import NN
@_exported import Support
@_exported import Tensors
@_exported import Tokenizers
@_exported import Training
