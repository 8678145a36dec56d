"""A model-free reading of shell command lines, for judging what a coding agent's command would do.

`lexer` splits a command line as bash does (quotes, escapes, `$'..'`, expansions, substitutions,
here-documents) in one linear pass; `parser` groups the tokens into pipelines and lists;
`analyzer` walks them like a shell would — variables, `cd`, wrappers such as `sudo`, nested
`sh -c`, `eval`, decoded base64 — and yields every simple command that would run.
"""

from luthien_proxy.protocols.shell.analyzer import Command, analyze
from luthien_proxy.protocols.shell.budget import Budget, TooMuchWork

__all__ = ["Budget", "Command", "TooMuchWork", "analyze"]
