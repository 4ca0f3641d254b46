//! The State design system's files (DSFR, vendored by `make dsfr`, see
//! `docs/adr/0001-crate-choices.md`), embedded in the binary and served under
//! `/static/dsfr/{bundle}/…`. The bundle is a digest of every file, so a new version gets new
//! addresses and browsers may keep these for a year (`immutable`). The stylesheet reaches its
//! fonts and icons by relative paths, which stay inside the bundle's folder.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::WebError;

mod files {
    include!("../static/dsfr/files.rs");
}

/// The folder every DSFR address starts with, for the templates.
pub fn base() -> String {
    format!("/static/dsfr/{}", files::BUNDLE)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        _ => "text/plain; charset=utf-8",
    }
}

/// `GET /static/dsfr/{bundle}/{path}`: a file of this bundle, or 404 (an older bundle's address
/// included: its files are gone with the version).
pub(crate) async fn file(path: web::Path<(String, String)>) -> Result<HttpResponse, WebError> {
    let (bundle, path) = path.into_inner();
    if bundle != files::BUNDLE {
        return Err(WebError::NotFound);
    }
    let (name, bytes) = files::FILES
        .iter()
        .find(|(name, _)| *name == path)
        .ok_or(WebError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type(content_type(name))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(*bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_stylesheet_names_is_embedded() {
        let css = files::FILES
            .iter()
            .find(|(name, _)| *name == "dsfr.min.css")
            .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
            .expect("the stylesheet");
        let mut named = 0;
        for part in css.split("url(").skip(1) {
            let target = part.split(')').next().unwrap().trim_matches(['"', '\'']);
            if target.starts_with("data:") {
                continue;
            }
            named += 1;
            assert!(
                files::FILES.iter().any(|(name, _)| *name == target),
                "{target} is not embedded"
            );
        }
        assert!(named > 50, "the stylesheet names its fonts and icons");
    }

    /// Every pictogram an easy-to-read line names (and every one `easy_read::PICTOGRAMS` allows)
    /// is embedded at the address `ui::pictogram` draws it from, so no line shows a broken
    /// picture (docs/easy-read.md).
    #[test]
    fn every_pictogram_of_the_easy_read_texts_is_embedded() {
        let embedded = |name: &str| {
            let path = format!("artwork/pictograms/{name}.svg");
            files::FILES.iter().any(|(file, bytes)| {
                *file == path && String::from_utf8_lossy(bytes).contains("id=\"artwork-major\"")
            })
        };
        let mut named = 0;
        for version in ac_mandates::legal::legal_text_versions() {
            for line in ac_mandates::easy_read::easy_read(version).unwrap().lines {
                named += 1;
                assert!(
                    embedded(&line.pictogram),
                    "{version}: the pictogram {} is not vendored (make dsfr)",
                    line.pictogram
                );
            }
        }
        assert!(named > 10, "the easy-to-read texts name their pictograms");
        for name in ac_mandates::easy_read::PICTOGRAMS {
            assert!(embedded(name), "{name} is not vendored (make dsfr)");
        }
    }

    #[test]
    fn types_follow_the_extension() {
        assert_eq!(content_type("fonts/Marianne-Bold.woff2"), "font/woff2");
        assert_eq!(content_type("dsfr.min.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("icons/system/close-line.svg"), "image/svg+xml");
    }
}
