package form

import (
	"fmt"
	"strconv"
	"strings"
)

// Form is a composed, immutable checklist: the parts' questions in order. Build
// one with Registry.For (new sessions) or Registry.Lookup (existing State).
type Form struct {
	// Key names the parts in order, e.g. "nine-small+key-unit+closing"; it is
	// stable across versions and is what State.Form records.
	Key string
	// Title is the base part's title.
	Title string
	// Versions is the version of each part, as State.Versions records it.
	Versions map[string]int
	// Parts are the definitions, base first.
	Parts []*Definition
	// Questions are every part's questions in order.
	Questions []*Question

	index map[string]int
}

// Version names every part with its version, e.g. "nine-small@2+key-unit@1+closing@1";
// store it with a submission and rebuild the form with Registry.LookupVersion.
func (f *Form) Version() string {
	parts := make([]string, len(f.Parts))
	for i, p := range f.Parts {
		parts[i] = p.Key + "@" + strconv.Itoa(p.Version)
	}
	return strings.Join(parts, "+")
}

// Question returns the question with key, or nil.
func (f *Form) Question(key string) *Question {
	i, ok := f.index[key]
	if !ok {
		return nil
	}
	return f.Questions[i]
}

func compose(parts []*Definition) (*Form, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("compose form: no parts")
	}
	f := &Form{Title: parts[0].Title, Versions: map[string]int{}, Parts: parts, index: map[string]int{}}
	keys := make([]string, len(parts))
	for i, p := range parts {
		keys[i] = p.Key
		if _, dup := f.Versions[p.Key]; dup {
			return nil, fmt.Errorf("compose form: part %q twice", p.Key)
		}
		f.Versions[p.Key] = p.Version
		for _, q := range p.Questions {
			if _, dup := f.index[q.Key]; dup {
				return nil, fmt.Errorf("compose form %s: question key %q is in two parts", strings.Join(keys[:i+1], "+"), q.Key)
			}
			f.index[q.Key] = len(f.Questions)
			f.Questions = append(f.Questions, q)
		}
	}
	f.Key = strings.Join(keys, "+")
	return f, nil
}
