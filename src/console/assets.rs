//! The console's static files, compiled into the binary and served under
//! `/console/assets/{stem}.{hash}.{ext}`: the content hash in the name lets
//! browsers keep each file for a year (`immutable`) and still fetch a new one the
//! moment a new binary serves different bytes. A name with an old hash is a 404,
//! never stale content under a new name.

use std::sync::LazyLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// `(file name, content, content type)` of every asset.
const FILES: [(&str, &[u8], &str); 5] = [
    ("console.css", include_bytes!("assets/console.css"), CSS),
    ("htmx.min.js", include_bytes!("assets/htmx.min.js"), JS),
    (
        "uPlot.iife.min.js",
        include_bytes!("assets/uPlot.iife.min.js"),
        JS,
    ),
    ("uPlot.min.css", include_bytes!("assets/uPlot.min.css"), CSS),
    ("charts.js", include_bytes!("assets/charts.js"), JS),
];

struct Asset {
    /// `htmx.min.js`
    file: &'static str,
    /// `htmx.min.3f2a9c1b0d4e5f60.js`, what URLs name.
    served_as: String,
    hash: String,
    content: &'static [u8],
    content_type: &'static str,
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(file, content, content_type)| {
            let hash: String = Sha256::digest(content)
                .iter()
                .take(8)
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let served_as = match file.rsplit_once('.') {
                Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
                None => format!("{file}.{hash}"),
            };
            Asset {
                file,
                served_as,
                hash,
                content,
                content_type,
            }
        })
        .collect()
});

/// The URL a page links `file` (one of [`FILES`]) by.
pub fn url(file: &str) -> String {
    match ASSETS.iter().find(|asset| asset.file == file) {
        Some(asset) => format!("/console/assets/{}", asset.served_as),
        // A page naming an asset that is not compiled in is a programming error
        // that a test of that page catches; the link is a 404 meanwhile.
        None => format!("/console/assets/{file}"),
    }
}

pub async fn serve(request: HttpRequest, name: web::Path<String>) -> HttpResponse {
    let Some(asset) = ASSETS.iter().find(|asset| asset.served_as == *name) else {
        return HttpResponse::NotFound()
            .insert_header((CACHE_CONTROL, "no-store"))
            .finish();
    };
    let etag = format!("\"{}\"", asset.hash);
    let revalidated = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
    let mut answer = if revalidated {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    answer
        .insert_header((CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((ETAG, etag))
        .insert_header(("X-Content-Type-Options", "nosniff"));
    if revalidated {
        return answer.finish();
    }
    answer
        .insert_header((CONTENT_TYPE, asset.content_type))
        .body(asset.content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_carry_the_content_hash() {
        let htmx = url("htmx.min.js");
        assert!(htmx.starts_with("/console/assets/htmx.min."), "{htmx}");
        assert!(htmx.ends_with(".js"), "{htmx}");
        let hash = htmx
            .trim_start_matches("/console/assets/htmx.min.")
            .trim_end_matches(".js");
        assert_eq!(hash.len(), 16, "{htmx}");
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{htmx}");
        // Each file its own hash.
        assert_ne!(
            url("console.css").rsplit('.').nth(1),
            url("uPlot.min.css").rsplit('.').nth(1)
        );
    }
}
