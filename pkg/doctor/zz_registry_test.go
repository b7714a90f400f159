package doctor

import (
	"os"
	"regexp"
	"testing"
)

// Runs after the other tests of the package (files run in name order).
func TestEveryCodeIsTested(t *testing.T) {
	if testing.Short() || len(produced) == 0 {
		t.Skip("needs the whole package's tests")
	}
	for _, c := range Checks {
		if !produced[c.Code] {
			t.Errorf("%s (%s) is produced by no test", c.Code, c.Title)
		}
	}
}

func TestEveryCodeIsDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/checks.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Checks {
		if !regexp.MustCompile(`(?m)^## ` + c.Code + ` `).Match(b) {
			t.Errorf("docs/checks.md has no section \"## %s ...\"", c.Code)
		}
	}
}
