package sidecar

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// Each file a release ships names the image at the release's tag, in the
// place the chart or the API server reads it, and nowhere at DevTag.
func TestRelease(t *testing.T) {
	const version = "v1.2.3"
	files, err := Release(version)
	if err != nil {
		t.Fatal(err)
	}
	want := Image + ":" + version
	images := releaseImages()
	if len(files) != len(images) {
		t.Errorf("Release gives %d files, want %d", len(files), len(images))
	}
	for name, image := range images {
		b, ok := files[name]
		if !ok {
			t.Errorf("no %s", name)
			continue
		}
		if got := image(t, b); got != want {
			t.Errorf("%s names image %q, want %q", name, got, want)
		}
		if strings.Contains(string(b), ":"+DevTag+"\n") || strings.Contains(string(b), "tag: "+DevTag) {
			t.Errorf("%s still names the %s tag", name, DevTag)
		}
	}
}

// releaseImages read the image each release file names, where the chart
// or the API server reads it.
func releaseImages() map[string]func(t *testing.T, b []byte) string {
	return map[string]func(t *testing.T, b []byte) string{
		"deploy.yaml": func(t *testing.T, b []byte) string {
			docs := strings.Split(string(b), "\n---\n")
			var dep struct {
				Kind string
				Spec struct {
					Template struct {
						Spec struct{ Containers []struct{ Image string } }
					}
				}
			}
			unmarshal(t, []byte(docs[len(docs)-1]), &dep)
			if dep.Kind != "Deployment" || len(dep.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("deploy.yaml's last document: %+v, want the Deployment of one container", dep)
			}
			if !strings.Contains(string(b), "kind: ServiceAccount") {
				t.Error("deploy.yaml has no ServiceAccount: RBAC is missing")
			}
			return dep.Spec.Template.Spec.Containers[0].Image
		},
		"grafana-chart-values.yaml": func(t *testing.T, b []byte) string {
			var v struct {
				Sidecar struct {
					Image struct{ Registry, Repository, Tag string }
				}
			}
			unmarshal(t, b, &v)
			i := v.Sidecar.Image
			return i.Registry + "/" + i.Repository + ":" + i.Tag
		},
		"grafana-chart-values-extra-container.yaml": func(t *testing.T, b []byte) string {
			var v struct{ ExtraContainers string }
			unmarshal(t, b, &v)
			var containers []struct{ Image string }
			unmarshal(t, []byte(v.ExtraContainers), &containers)
			if len(containers) != 1 {
				t.Fatalf("extraContainers: %d containers, want 1", len(containers))
			}
			return containers[0].Image
		},
	}
}

func TestReleaseRefusesAVersionThatIsNoTag(t *testing.T) {
	for _, v := range []string{"", "v1 2", "v1:2", "v1\""} {
		if _, err := Release(v); err == nil || !strings.Contains(err.Error(), "give a tag") {
			t.Errorf("Release(%q) = %v, want an error asking for a tag", v, err)
		}
	}
}

func unmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}
