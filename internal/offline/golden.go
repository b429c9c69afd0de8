package offline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Markers that stand in for values a review must not see or cannot know offline.
const (
	SecretMarker  = "[secret]"
	UnknownMarker = "[unknown]"
)

// goldenResource is one resource of the desired state, in review form.
type goldenResource struct {
	URN       string         `json:"urn"`
	Type      string         `json:"type"`
	Name      string         `json:"name"`
	Parent    string         `json:"parent,omitempty"`
	DependsOn []string       `json:"dependsOn,omitempty"`
	Provider  string         `json:"provider,omitempty"`
	Options   map[string]any `json:"options,omitempty"`
	Inputs    any            `json:"inputs"`
}

type goldenFile struct {
	Resources []goldenResource `json:"resources"`
	Outputs   any              `json:"outputs"`
}

// Golden renders a graph as the stable desired state reviewers diff: resources sorted by URN,
// keys sorted, secrets masked, multi-line strings split into lines so that a changed line shows
// as one changed line.
func Golden(g *Graph) ([]byte, error) {
	file := goldenFile{Outputs: reviewValue(resource.NewObjectProperty(g.Outputs))}
	for _, r := range g.Resources {
		deps := append([]string(nil), r.Dependencies...)
		sort.Strings(deps)
		provider := r.Provider
		// A provider reference is "<provider URN>::<provider ID>"; the ID is a mock value.
		if i := strings.LastIndex(provider, "::"); i >= 0 {
			provider = provider[:i]
		}
		file.Resources = append(file.Resources, goldenResource{
			URN:       r.URN,
			Type:      r.Type,
			Name:      r.Name,
			Parent:    r.Parent,
			DependsOn: deps,
			Provider:  provider,
			Options:   options(r),
			Inputs:    reviewValue(resource.NewObjectProperty(r.Inputs)),
		})
	}
	sort.SliceStable(file.Resources, func(i, j int) bool {
		return file.Resources[i].URN < file.Resources[j].URN
	})
	out, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding desired state: %w", err)
	}
	return append(out, '\n'), nil
}

func options(r *Resource) map[string]any {
	opts := map[string]any{}
	if r.RetainOnDelete {
		opts["retainOnDelete"] = true
	}
	if r.DeleteFirst {
		opts["deleteBeforeReplace"] = true
	}
	if len(r.IgnoreChanges) > 0 {
		opts["ignoreChanges"] = r.IgnoreChanges
	}
	if len(opts) == 0 {
		return nil
	}
	return opts
}

// reviewValue turns a property value into plain JSON data with secrets masked.
func reviewValue(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return SecretMarker
	case v.IsComputed():
		return UnknownMarker
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return SecretMarker
		}
		if !o.Known {
			return UnknownMarker
		}
		return reviewValue(o.Element)
	case v.IsString():
		s := v.StringValue()
		if strings.Contains(s, "\n") {
			return map[string]any{"lines": strings.Split(s, "\n")}
		}
		return s
	case v.IsArray():
		out := make([]any, 0, len(v.ArrayValue()))
		for _, e := range v.ArrayValue() {
			out = append(out, reviewValue(e))
		}
		return out
	case v.IsObject():
		out := map[string]any{}
		for k, e := range v.ObjectValue() {
			out[string(k)] = reviewValue(e)
		}
		return out
	case v.IsResourceReference():
		return "[resource " + string(v.ResourceReferenceValue().URN) + "]"
	case v.IsAsset(), v.IsArchive():
		return "[asset]"
	}
	return v.Mappable()
}
