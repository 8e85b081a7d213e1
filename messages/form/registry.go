package form

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"safetybot"
)

//go:embed defs/*.yaml
var shippedDefs embed.FS

// Registry holds every loaded Definition, addressable by (key, version). It is
// immutable after Load and safe for concurrent use.
type Registry struct {
	defs   map[string]map[int]*Definition // key → version → definition
	latest map[string]*Definition
}

// Shipped loads the definitions embedded from defs/.
func Shipped() (*Registry, error) {
	sub, err := fs.Sub(shippedDefs, "defs")
	if err != nil {
		return nil, fmt.Errorf("shipped form definitions: %w", err)
	}
	return Load(sub)
}

// Load reads every *.yaml (and *.yml) file of fsys, one Definition per file, and
// validates them one by one and as the forms they compose. On failure it returns a
// LoadError naming the file, the key and the reason of every problem.
func Load(fsys fs.FS) (*Registry, error) {
	r := &Registry{defs: map[string]map[int]*Definition{}, latest: map[string]*Definition{}}
	var errs LoadError
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (path.Ext(p) == ".yaml" || path.Ext(p) == ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list form definitions: %w", err)
	}
	if len(files) == 0 {
		return nil, LoadError{{File: ".", Key: "-", Reason: "no *.yaml form definitions found"}}
	}
	sort.Strings(files)
	for _, file := range files {
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			errs = append(errs, &DefError{File: file, Key: "-", Reason: err.Error()})
			continue
		}
		def, derrs := parseDefinition(file, data)
		errs = append(errs, derrs...)
		if def == nil {
			continue
		}
		if r.defs[def.Key] == nil {
			r.defs[def.Key] = map[int]*Definition{}
		}
		if prev := r.defs[def.Key][def.Version]; prev != nil {
			errs = append(errs, &DefError{File: file, Key: def.Key, Reason: fmt.Sprintf("duplicate definition: version %d is also in %s", def.Version, prev.File)})
			continue
		}
		r.defs[def.Key][def.Version] = def
		if l := r.latest[def.Key]; l == nil || def.Version > l.Version {
			r.latest[def.Key] = def
		}
	}
	if len(errs) == 0 {
		errs = append(errs, r.checkCompositions()...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

// checkCompositions composes every latest base with every latest extra and
// closing that could join it, so clashing question keys and ambiguous bases fail
// at start rather than in a user's chat.
func (r *Registry) checkCompositions() []*DefError {
	var errs []*DefError
	bases := r.latestOf(PartBase)
	for i, a := range bases {
		for _, b := range bases[i+1:] {
			if a.AppliesTo.Category == b.AppliesTo.Category && overlap(a.AppliesTo.SmallTypes, b.AppliesTo.SmallTypes) && sameSpecificity(a, b) {
				errs = append(errs, &DefError{File: b.File, Key: b.Key, Reason: fmt.Sprintf("ambiguous base form: %s (%s) also applies to %s", a.Key, a.File, a.AppliesTo.Category)})
			}
		}
	}
	for _, base := range bases {
		parts := []*Definition{base}
		for _, d := range append(r.latestOf(PartExtra), r.latestOf(PartClosing)...) {
			if d.AppliesTo.Category == "" || d.AppliesTo.Category == base.AppliesTo.Category {
				if overlap(d.AppliesTo.SmallTypes, base.AppliesTo.SmallTypes) {
					parts = append(parts, d)
				}
			}
		}
		owner := map[string]*Definition{}
		for _, p := range parts {
			for _, q := range p.Questions {
				if o := owner[q.Key]; o != nil {
					errs = append(errs, &DefError{File: p.File, Key: q.Key, Reason: fmt.Sprintf("duplicate question key: also in %s (%s), and both join the %s form", o.Key, o.File, base.Key)})
					continue
				}
				owner[q.Key] = p
			}
		}
	}
	return errs
}

func sameSpecificity(a, b *Definition) bool {
	return (len(a.AppliesTo.SmallTypes) == 0) == (len(b.AppliesTo.SmallTypes) == 0)
}

// overlap reports whether two small-type filters can both match one enterprise
// (an empty filter matches everything).
func overlap(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// latestOf returns the latest version of every definition of a part, by key.
func (r *Registry) latestOf(part string) []*Definition {
	var out []*Definition
	for _, d := range r.latest {
		if d.Part == part {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Definition returns one definition at one version; version 0 means the latest.
func (r *Registry) Definition(key string, version int) (*Definition, bool) {
	if version == 0 {
		d, ok := r.latest[key]
		return d, ok
	}
	d, ok := r.defs[key][version]
	return d, ok
}

// Versions lists the loaded versions of a definition key, oldest first.
func (r *Registry) Versions(key string) []int {
	var v []int
	for n := range r.defs[key] {
		v = append(v, n)
	}
	sort.Ints(v)
	return v
}

// For composes the form a new session of an enterprise uses: the latest base
// form of its category (one restricted to its small type wins over a general one),
// then the latest extras that apply (key-unit items only when keyUnit), then the
// closing items. smallType may be a roster spelling such as 小餐馆; it is
// normalised with NormalizeSmallType. Errors are *safetybot.Error.
func (r *Registry) For(category, smallType string, keyUnit bool) (*Form, error) {
	category = strings.TrimSpace(category)
	if !slices.Contains(safetybot.Categories, category) {
		return nil, safetybot.Errorf(safetybot.EINVALID, "未知的企业类别：%q", category)
	}
	st := NormalizeSmallType(smallType)
	var base *Definition
	for _, d := range r.latestOf(PartBase) {
		if d.AppliesTo.Category != category || !d.matchesSmallType(st) {
			continue
		}
		// A base naming the small type is more specific than one for the whole category.
		if base == nil || (len(base.AppliesTo.SmallTypes) == 0 && len(d.AppliesTo.SmallTypes) > 0) {
			base = d
		}
	}
	if base == nil {
		return nil, safetybot.Errorf(safetybot.ENOTFOUND, "还没有%s的自查表", category)
	}
	parts := []*Definition{base}
	for _, part := range []string{PartExtra, PartClosing} {
		for _, d := range r.latestOf(part) {
			if (d.AppliesTo.Category == "" || d.AppliesTo.Category == category) && d.matchesSmallType(st) && (!d.AppliesTo.KeyUnitOnly || keyUnit) {
				parts = append(parts, d)
			}
		}
	}
	return compose(parts)
}

func (d *Definition) matchesSmallType(st string) bool {
	return len(d.AppliesTo.SmallTypes) == 0 || slices.Contains(d.AppliesTo.SmallTypes, st)
}

// Lookup rebuilds a composed form from its Key ("nine-small+key-unit+closing")
// and the version of each part, as recorded in State.Versions, so an old
// submission renders with the exact definitions it was made with. A nil map means
// the latest version of every part.
func (r *Registry) Lookup(key string, versions map[string]int) (*Form, error) {
	var parts []*Definition
	for _, k := range strings.Split(key, "+") {
		v := 0
		if versions != nil {
			var ok bool
			if v, ok = versions[k]; !ok {
				return nil, fmt.Errorf("form %q: no version recorded for part %q", key, k)
			}
		}
		d, ok := r.Definition(k, v)
		if !ok {
			return nil, fmt.Errorf("form %q: definition %s@%d is not loaded", key, k, v)
		}
		parts = append(parts, d)
	}
	return compose(parts)
}

// ForState rebuilds the form a stored State was started with; use it on every
// step of a session so a definition released mid-session never changes it.
func (r *Registry) ForState(st State) (*Form, error) {
	return r.Lookup(st.Form, st.Versions)
}

// LookupVersion rebuilds a form from its Version string
// ("nine-small@1+key-unit@1+closing@1"), the value stored with a submission.
func (r *Registry) LookupVersion(version string) (*Form, error) {
	key, versions, err := ParseVersion(version)
	if err != nil {
		return nil, err
	}
	return r.Lookup(key, versions)
}

// ParseVersion splits a Form.Version string into the composed key and the
// version of each part.
func ParseVersion(version string) (key string, versions map[string]int, err error) {
	versions = map[string]int{}
	var keys []string
	for _, p := range strings.Split(version, "+") {
		k, v, ok := strings.Cut(p, "@")
		n, nerr := strconv.Atoi(v)
		if !ok || k == "" || nerr != nil || n < 1 {
			return "", nil, fmt.Errorf("bad form version %q", version)
		}
		keys = append(keys, k)
		versions[k] = n
	}
	return strings.Join(keys, "+"), versions, nil
}

// smallTypeAliases maps roster spellings to the names in safetybot.NineSmallTypes
// and safetybot.FiveSmallTypes.
var smallTypeAliases = map[string]string{
	"小餐馆":   "小餐饮",
	"小饭店":   "小餐饮",
	"小美容":   "小美容洗浴",
	"小洗浴":   "小美容洗浴",
	"小歌舞厅":  "小歌舞娱乐",
	"小娱乐":   "小歌舞娱乐",
	"小诊所":   "小医院",
	"小商场":   "小商店",
	"小宾馆":   "小旅馆",
	"小生产企业": "小生产加工",
	"小加工":   "小生产加工",
	"小皮革":   "小制革",
}

// extraNineSmallTypes are roster types outside safetybot.NineSmallTypes that the
// 九小场所 checklist still covers as they are.
var extraNineSmallTypes = []string{"小棋牌室"}

// NormalizeSmallType maps a roster spelling of a small type (小餐馆, 小皮革 …) to
// the canonical name used in definitions (小餐饮, 小制革 …); other values come back
// trimmed and unchanged.
func NormalizeSmallType(t string) string {
	t = strings.TrimSpace(t)
	if c, ok := smallTypeAliases[t]; ok {
		return c
	}
	return t
}

// knownSmallType reports whether t is a canonical small type of category (of any
// category when category is "").
func knownSmallType(category, t string) bool {
	nine := slices.Contains(safetybot.NineSmallTypes, t) || slices.Contains(extraNineSmallTypes, t)
	five := slices.Contains(safetybot.FiveSmallTypes, t)
	switch category {
	case safetybot.CategoryNineSmall:
		return nine
	case safetybot.CategoryFiveSmall:
		return five
	}
	return nine || five
}
