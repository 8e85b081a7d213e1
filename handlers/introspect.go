package handlers

import "sort"

// Words lists every command word the router answers, sorted: the words that
// must be the whole message and the words that start a command with
// arguments (see Commands). Tests use it to try every command as every role.
func (r *Router) Words() []string {
	seen := map[string]bool{}
	for w := range r.exact {
		seen[w] = true
	}
	for _, p := range r.prefix {
		seen[p.word] = true
	}
	return sortedKeys(seen)
}

// Commands lists the words that may be followed by arguments ("企业 青石旅馆"), sorted.
func (r *Router) Commands() []string {
	seen := map[string]bool{}
	for _, p := range r.prefix {
		seen[p.word] = true
	}
	return sortedKeys(seen)
}

// MenuKeys lists the app menu keys (click events) the router answers, sorted.
func (r *Router) MenuKeys() []string {
	seen := map[string]bool{}
	for k := range r.menuKeys {
		seen[k] = true
	}
	return sortedKeys(seen)
}

// CardPrefixes lists the template-card button key prefixes the router answers, sorted.
func (r *Router) CardPrefixes() []string {
	seen := map[string]bool{}
	for _, c := range r.cardKeys {
		seen[c.word] = true
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
