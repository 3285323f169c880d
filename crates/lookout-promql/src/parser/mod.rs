//! PromQL lexer, parser and AST.
