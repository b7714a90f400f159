package grafanaemu

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// folderObject is f as /apis returns it (folder spec: title, description;
// the parent is the grafana.app/folder annotation). Folders have no status.
func (s *Server) folderObject(f *folder, version string) map[string]any {
	spec := map[string]any{"title": f.title}
	if f.description != "" {
		spec["description"] = f.description
	}
	ann := map[string]string{}
	if f.parentUID != "" {
		ann[annFolder] = f.parentUID
	}
	return map[string]any{"apiVersion": folderGroup + "/" + version, "kind": "Folder",
		"metadata": objectMetadata(f.objectMeta, f.uid, f.version, f.created, f.updated, nil, ann), "spec": spec}
}

func (s *Server) folderAt(t target) map[string]any {
	f := s.store.folderByUID(t.name)
	if f == nil {
		return nil
	}
	return s.folderObject(f, t.version)
}

func (s *Server) listFoldersAPI(w http.ResponseWriter, r *http.Request, t target) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []map[string]any
	for _, f := range s.store.folders {
		items = append(items, s.folderObject(f, t.version))
	}
	s.writeList(w, r, t, items)
}

// folderInput reads a Folder sent; its parent must exist.
func (s *Server) folderInput(t target, body map[string]any) (objectInput, *apierrors.StatusError) {
	in, err := readInput(t, body)
	if err == nil && in.parent != "" && s.store.folderByUID(in.parent) == nil {
		err = badRequest(t, in.name, fmt.Sprintf("parent folder %q not found", in.parent))
	}
	return in, err
}

func (s *Server) createFolderAPI(w http.ResponseWriter, r *http.Request, sess *session, t target) {
	body, ok := readBody(w, r, t)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in, err := s.folderInput(t, body)
	var name string
	if err == nil {
		name, err = createName(t, in)
	}
	if err == nil && s.store.folderByUID(name) != nil {
		err = apierrors.NewAlreadyExists(t.gr(), name)
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	f := s.addFolder(name, str(in.spec["title"]), in.parent, sess)
	f.description, f.labels, f.annotations = str(in.spec["description"]), in.meta.labels, in.meta.annotations
	writeJSON(w, http.StatusCreated, s.folderObject(f, t.version))
}

// updateFolderAPI changes the title, description, parent (moving the
// folder, not below itself), labels and annotations; the generation goes up
// with the spec. The caller holds s.mu.
func (s *Server) updateFolderAPI(w http.ResponseWriter, sess *session, t target, body map[string]any) {
	f := s.store.folderByUID(t.name)
	if f == nil {
		writeStatus(w, apierrors.NewNotFound(t.gr(), t.name))
		return
	}
	in, err := s.folderInput(t, body)
	if err == nil {
		err = checkUpdate(t, in, f.rv)
	}
	if err == nil && slices.ContainsFunc(s.folderTree(f), func(c *folder) bool { return c.uid == in.parent }) {
		err = badRequest(t, t.name, "a folder cannot be moved into itself or a folder below it")
	}
	if err != nil {
		writeStatus(w, err)
		return
	}
	title, description := str(in.spec["title"]), str(in.spec["description"])
	specChanged := title != f.title || description != f.description
	if specChanged || in.parent != f.parentUID || !sameJSON(f.labels, in.meta.labels) || !sameJSON(f.annotations, in.meta.annotations) {
		if specChanged {
			f.version++
		}
		f.title, f.description, f.parentUID = title, description, in.parent
		f.labels, f.annotations = in.meta.labels, in.meta.annotations
		f.rv, f.updatedByID, f.updated, f.updatedBy = s.store.nextRV(), sess.identity(), time.Now(), sess.login
	}
	writeJSON(w, http.StatusOK, s.folderObject(f, t.version))
}

// deleteFolderAPI deletes as the legacy delete does: the folders and
// dashboards below go too, and a provisioned dashboard among them makes it
// 400. It answers the deleted Folder, as Grafana's folder docs show.
func (s *Server) deleteFolderAPI(w http.ResponseWriter, r *http.Request, t target) {
	opts, oerr := deleteOptions(r)
	if oerr != nil {
		writeStatus(w, badRequest(t, t.name, "delete options: "+oerr.Error()))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.store.folderByUID(t.name)
	if f == nil {
		writeStatus(w, apierrors.NewNotFound(t.gr(), t.name))
		return
	}
	if err := preconditionFails(t, opts, f.objectMeta); err != nil {
		writeStatus(w, err)
		return
	}
	obj := s.folderObject(f, t.version)
	if !s.removeFolder(f) {
		writeStatus(w, badRequest(t, t.name, folderHoldsProvisioned))
		return
	}
	writeJSON(w, http.StatusOK, obj)
}
