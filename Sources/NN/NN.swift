import Tensors

// Modules, layers, losses and optimizers arrive with the tensor engine issue.
