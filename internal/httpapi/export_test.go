package httpapi

// RouteKeys lists every API route as "METHOD /path", for tests outside the
// package that must cover each one.
func RouteKeys() []string {
	out := make([]string, len(routes))
	for i, rt := range routes {
		out[i] = rt.method + " " + rt.path
	}
	return out
}
