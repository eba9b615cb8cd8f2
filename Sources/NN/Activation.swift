import Tensors

/// The activation functions transformers' configs name (`hidden_act`, `activation_function`, `activation`).
///
/// ```swift
/// let activation = Activation(name: "gelu_new")   // .geluTanh
/// let y = activation(x)
/// ```
public enum Activation: Sendable, Equatable {
    /// The exact GELU, x·Φ(x) (`gelu`).
    case gelu
    /// GELU's tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    case geluTanh
    case relu
    case tanh

    /// Every name `init(name:)` accepts.
    public static let names = ["gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "tanh"]

    /// The activation a config names, or nil for one ModelHub does not compute.
    public init?(name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        case "tanh": self = .tanh
        default: return nil
        }
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .gelu: x.gelu()
        case .geluTanh: x.geluTanh()
        case .relu: x.relu()
        case .tanh: x.tanh()
        }
    }
}
