// Package form is the self-inspection (自查自纠) form engine: declarative, versioned
// form definitions in YAML and a pure conversation engine over them.
//
// Definitions live in defs/*.yaml (embedded, see Shipped) or any fs.FS (see Load).
// Each file holds one Definition addressed by (key, version). A Definition is one
// of three parts:
//
//   - base: the checklist of a category (一般企业, 九小场所, 五小企业);
//   - extra: items added when applies_to matches (e.g. key_unit_only for 重点监管单位);
//   - closing: items appended to every form (inspector, date, 公示, photos, remarks).
//
// Registry.For composes base + extras + closing into one Form whose Key names the
// parts ("nine-small+key-unit+closing") and whose Version names their versions
// ("nine-small@1+key-unit@1+closing@1"). A released version is never edited in
// place: a change is a new file with a higher version; the latest version is used
// for new sessions, and Registry.Lookup / LookupVersion rebuild the exact form an
// old State or submission was made with.
//
// The engine is a set of pure functions: Form.Start, Form.Step and Form.Current
// take and return a State, a plain JSON-serialisable struct the caller stores.
// Nothing is kept in process memory between steps, no database and no network
// are touched, and time comes from the caller (Input.Now, Context.Now).
package form
