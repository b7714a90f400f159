package printers

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kprinters "k8s.io/cli-runtime/pkg/printers"
)

// Named is a value -o name prints: the Kubernetes objects it is about.
type Named interface {
	NamedObjects() []runtime.Object
}

// Object is an object for -o name: its apiVersion, kind and name.
func Object(apiVersion, kind, name string) runtime.Object {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
	}
}

// ObjectOf is v for -o name when v is a Kubernetes object (its own
// apiVersion, kind and metadata): a typed mirror such as KEDA's
// ScaledObject need not be a runtime.Object.
func ObjectOf(v any) (runtime.Object, error) {
	t, err := apimeta.TypeAccessor(v)
	if err != nil {
		return nil, err
	}
	m, err := apimeta.Accessor(v)
	if err != nil {
		return nil, err
	}
	return Object(t.GetAPIVersion(), t.GetKind(), m.GetName()), nil
}

// PrintNames writes the objects v names (a Named, or a Kubernetes object)
// as kubectl's -o name does: kind.group/name, one a line.
func PrintNames(w io.Writer, v any) error {
	objs := []runtime.Object{}
	if n, ok := v.(Named); ok {
		objs = n.NamedObjects()
	} else if o, err := ObjectOf(v); err == nil {
		objs = append(objs, o)
	} else {
		return fmt.Errorf("-o name: %T names no Kubernetes object", v)
	}
	p := &kprinters.NamePrinter{ShortOutput: true}
	for _, o := range objs {
		if err := p.PrintObj(o, w); err != nil {
			return err
		}
	}
	return nil
}

// templatePrinter runs kubectl's jsonpath or go-template printer on the
// JSON -o json prints: the field names a template reads are those.
type templatePrinter struct {
	kube kprinters.ResourcePrinter
}

func (p *templatePrinter) Print(w io.Writer, v any) error {
	b, err := encode(v, "")
	if err != nil {
		return err
	}
	if _, ok := p.kube.(*kprinters.GoTemplatePrinter); ok && bytes.HasPrefix(b, []byte("[")) {
		return errNotObject
	}
	return p.kube.PrintObj(&document{json: b}, w)
}

// errNotObject is go-template's refusal of a value that is not a JSON
// object: kubectl's template printer reads an object.
var errNotObject = errors.New("-o go-template reads a JSON object and this output is a list: use -o jsonpath, e.g. -o jsonpath='{[*].Name}'")

// document is a value's JSON as the runtime.Object kubectl's printers
// take: they read an object through its JSON.
type document struct {
	json []byte
}

func (d *document) MarshalJSON() ([]byte, error)     { return d.json, nil }
func (d *document) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }
func (d *document) DeepCopyObject() runtime.Object   { return &document{json: bytes.Clone(d.json)} }
