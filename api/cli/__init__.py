"""The command line: the third face of the same use cases as the API and the pages (main), one error wrapper
(errors)."""
