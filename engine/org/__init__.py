"""The people: the org chart (people), accounts and roles (accounts), who sees whom (scope), password sign-in
(signin) and API tokens (tokens)."""
