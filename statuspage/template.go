package statuspage

import (
	_ "embed" // the page's template and style sheet
	"html/template"
)

// pageCSS is the page's only style sheet, inlined; the
// Content-Security-Policy allows it by its hash.
//
//go:embed page.css
var pageCSS string

//go:embed page.html
var pageHTML string

// pageTemplate renders a page. Its style element holds pageCSS exactly, so
// that the hash matches.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"css": func() template.CSS { return template.CSS(pageCSS) },
}).Parse(pageHTML))
