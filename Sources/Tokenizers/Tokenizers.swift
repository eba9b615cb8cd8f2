// WordPiece, byte-level BPE and tokenizer.json arrive with the tokenizers issue.
