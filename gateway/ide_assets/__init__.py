"""GraphiQL's and React's scripts and styles, compressed (see `gateway.ide`, LICENSES.txt)."""
