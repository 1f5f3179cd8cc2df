package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// MaxFileSize is the largest config file dbg reads.
const MaxFileSize = 1 << 20

// kernelKeys are the keys a kernel config may have, in the order dbg writes them.
var kernelKeys = []string{"kernelrelease", "kernelversion", "target", "architecture",
	"kernelurls", "kernelimageurls", "kernelconfigdata", "builderimage", "gccversion"}

var requiredKeys = []string{"kernelrelease", "kernelversion", "target", "architecture", "kernelurls"}

// missingKey is the message of a required key without a value.
const missingKey = "missing required key"

// derivedKeys are driverkit keys that dbg derives and a kernel config must not set.
var derivedKeys = map[string]string{
	"driverversion": "the driver version is not set per kernel: dbg crosses every kernel with the driver versions of driverversions.yaml; remove this key",
	"output":        "outputs are not set per kernel: dbg derives file names and keys; remove this key",
}

// Decode parses one kernel config file strictly. It returns the kernel (nil
// when the file cannot be read as a mapping) and every structural problem:
// syntax, unknown, derived, duplicate and missing keys, wrong value types.
func Decode(path string, data []byte) (*Kernel, Problems) {
	root, p := parseMapping(path, data)
	if p != nil {
		return nil, Problems{*p}
	}
	k := &Kernel{Path: path, pos: map[string]position{}, reported: map[string]bool{}}
	probs := k.decodeMapping(root)
	for _, key := range requiredKeys {
		if !k.given(key) {
			k.reported[key] = true
			probs = append(probs, Problem{Path: path, Line: root.Line, Col: root.Column, Field: key, Msg: missingKey})
		}
	}
	return k, probs
}

func checkBytes(path string, data []byte) *Problem {
	switch {
	case len(data) > MaxFileSize:
		return &Problem{Path: path, Msg: fmt.Sprintf("file is larger than the %d bytes allowed", MaxFileSize)}
	case len(bytes.TrimSpace(data)) == 0:
		return &Problem{Path: path, Msg: "file is empty"}
	case !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0:
		return &Problem{Path: path, Msg: "file is not UTF-8 text"}
	}
	return nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseMapping checks the bytes of a config file (size, text) and parses
// them as exactly one YAML document whose top level is a mapping.
func parseMapping(path string, data []byte) (*yaml.Node, *Problem) {
	if p := checkBytes(path, data); p != nil {
		return nil, p
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, syntaxProblem(path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Problem{Path: path, Line: extra.Line, Col: extra.Column, Msg: "file holds more than one YAML document"}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Problem{Path: path, Line: root.Line, Col: root.Column, Msg: "top level must be a mapping of keys to values"}
	}
	return root, nil
}

func syntaxProblem(path string, err error) *Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	p := &Problem{Path: path, Msg: "invalid YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Col = 1
		p.Msg = "invalid YAML: " + m[2]
	}
	return p
}

func (k *Kernel) decodeMapping(root *yaml.Node) Problems {
	var probs Problems
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		at := func(n *yaml.Node, field, msg string) {
			probs = append(probs, Problem{Path: k.Path, Line: n.Line, Col: n.Column, Field: field, Msg: msg})
		}
		name := key.Value
		if key.Kind != yaml.ScalarNode {
			at(key, "", "keys must be plain strings")
			continue
		}
		if first, dup := k.pos[name]; dup {
			at(key, name, fmt.Sprintf("key defined twice (first at line %d)", first.line))
			continue
		}
		if why, derived := derivedKeys[name]; derived {
			at(key, name, why)
			continue
		}
		if !isKernelKey(name) {
			at(key, shownField(name), "unknown key (known keys: "+strings.Join(kernelKeys, ", ")+")")
			continue
		}
		k.pos[name] = position{val.Line, val.Column}
		if msg := k.set(name, val); msg != "" {
			k.reported[name] = true
			at(val, name, msg)
		}
	}
	return probs
}

func isKernelKey(name string) bool {
	for _, k := range kernelKeys {
		if k == name {
			return true
		}
	}
	return false
}

// set stores one value; it returns a message when the value has the wrong shape.
func (k *Kernel) set(name string, val *yaml.Node) string {
	switch name {
	case "kernelurls":
		return k.setURLs(val, name, &k.KernelURLs)
	case "kernelimageurls":
		return k.setURLs(val, name, &k.KernelImageURLs)
	}
	s, msg := scalar(val)
	if msg != "" {
		return msg
	}
	switch name {
	case "kernelrelease":
		k.KernelRelease = s
	case "kernelversion":
		k.KernelVersion = s
	case "target":
		k.Target = s
	case "architecture":
		k.Architecture = Arch(s)
	case "kernelconfigdata":
		k.KernelConfigData = s
	case "builderimage":
		k.BuilderImage = s
	case "gccversion":
		k.GCCVersion = s
	}
	return ""
}

// setURLs stores the list of URLs of the key name into dst.
func (k *Kernel) setURLs(val *yaml.Node, name string, dst *[]string) string {
	if val.Kind != yaml.SequenceNode {
		return "must be a list of URLs"
	}
	*dst = make([]string, 0, len(val.Content))
	for i, item := range val.Content {
		s, msg := scalar(item)
		if msg != "" {
			return fmt.Sprintf("item %d: %s", i+1, msg)
		}
		k.pos[itemField(name, i)] = position{item.Line, item.Column}
		*dst = append(*dst, s)
	}
	return ""
}

func urlField(i int) string { return itemField("kernelurls", i) }

// itemField names item i of a list key: kernelurls[0].
func itemField(name string, i int) string { return fmt.Sprintf("%s[%d]", name, i) }

// scalar accepts a plain string or number; it rejects null, lists, maps and aliases.
func scalar(n *yaml.Node) (string, string) {
	if n.Kind != yaml.ScalarNode {
		return "", "must be a single value, not a list, mapping or alias"
	}
	if n.Tag == "!!null" {
		return "", "must not be empty"
	}
	return n.Value, ""
}
