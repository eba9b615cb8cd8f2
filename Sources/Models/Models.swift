import Formats
import Hub
import NN
import Tokenizers

// AutoConfig, AutoModel and the architectures arrive with the models issue.
