//! The « Écouter » recordings of the legal texts (docs/audio.md): one per version and form (full,
//! easy-to-read), in two formats (Ogg Opus, and MP3 for browsers without Opus), made by `make audio` (crates/web/audio/generate.sh) from the words
//! `ac_mandates::speech` gives, committed with a manifest of the SHA-256 of the text each says,
//! embedded in the binary and served under `/static/audio/{digest}/{file}`. The digest is the
//! file's own, so a new recording gets a new address and browsers may keep one for a year.

use ac_mandates::speech::SpokenForm;
use ac_storage::mandates::TextShown;
use actix_web::http::header::{self, Header, Range};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::WebError;

/// One recording, as `make audio` wrote it into `static/audio/files.rs`.
pub(crate) struct Recording {
    pub file: &'static str,
    pub version: &'static str,
    pub form: &'static str,
    pub seconds: u32,
    /// The SHA-256 (hex) of the exact text espeak-ng read (`ac_mandates::speech::speech_text`).
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests tie each recording to its text by it")
    )]
    pub text_sha256: &'static str,
    /// The SHA-256 (hex) of `bytes`; its first 16 characters are in the address.
    pub file_sha256: &'static str,
    pub bytes: &'static [u8],
}

mod files {
    include!("../static/audio/files.rs");
}

/// Each format by its extension, in the order the page offers them (a browser plays the first
/// it can): Ogg Opus, `audio/ogg` with its codec named (RFC 7845 §9), smaller and clearer; then
/// MP3 (`audio/mpeg`, RFC 3003) for browsers without Opus in Ogg (Safari before 18.4).
const FORMATS: &[(&str, &str)] = &[("opus", "audio/ogg; codecs=opus"), ("mp3", "audio/mpeg")];
const DIGEST_CHARS: usize = 16;

/// What the recap needs to offer a recording: its files, each with its address and type, and
/// its length in words.
#[derive(Debug, Serialize)]
pub struct RecordingView {
    pub sources: Vec<SourceView>,
    pub duration: String,
}

#[derive(Debug, Serialize)]
pub struct SourceView {
    pub src: String,
    pub content_type: &'static str,
}

fn content_type(file: &str) -> Option<&'static str> {
    let extension = file.rsplit_once('.').map(|(_, e)| e)?;
    FORMATS
        .iter()
        .find(|(e, _)| *e == extension)
        .map(|(_, t)| *t)
}

/// The files of `version` in `form`, in the order of `FORMATS`.
fn find(version: &str, form: SpokenForm) -> Vec<&'static Recording> {
    FORMATS
        .iter()
        .filter_map(|(extension, _)| {
            files::FILES.iter().find(|r| {
                r.version == version
                    && r.form == form.key()
                    && r.file.rsplit_once('.').map(|(_, e)| e) == Some(*extension)
            })
        })
        .collect()
}

fn digest(recording: &Recording) -> &'static str {
    recording
        .file_sha256
        .get(..DIGEST_CHARS)
        .unwrap_or(recording.file_sha256)
}

/// The recording of the text the recap shows (`shown`) for `version`; none when it has none
/// (a test holds every version to having both).
pub fn for_recap(version: &str, shown: TextShown) -> Option<RecordingView> {
    let form = match shown {
        TextShown::Full => SpokenForm::Full,
        TextShown::EasyRead => SpokenForm::EasyRead,
    };
    let files = find(version, form);
    let seconds = files.first()?.seconds;
    Some(RecordingView {
        sources: files
            .into_iter()
            .filter_map(|r| {
                Some(SourceView {
                    src: format!("/static/audio/{}/{}", digest(r), r.file),
                    content_type: content_type(r.file)?,
                })
            })
            .collect(),
        duration: duration(seconds),
    })
}

/// « 3 min 20 s », « 45 s ».
fn duration(seconds: u32) -> String {
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// `GET /static/audio/{digest}/{file}`: the recording, whole or the one byte range asked for
/// (RFC 9110 §14: players ask for ranges to seek; several ranges get the whole file, which
/// §14.2 allows), or 404 for an unknown file or a digest of another recording.
pub(crate) async fn file(
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, WebError> {
    let (asked_digest, name) = path.into_inner();
    let recording = files::FILES
        .iter()
        .find(|r| r.file == name && digest(r) == asked_digest)
        .ok_or(WebError::NotFound)?;
    let content_type = content_type(recording.file).ok_or(WebError::NotFound)?;
    let bytes = recording.bytes;
    let length = u64::try_from(bytes.len()).map_err(WebError::internal)?;
    let mut response = match Range::parse(&request) {
        Ok(Range::Bytes(specs)) if specs.len() == 1 => {
            match specs.first().and_then(|s| s.to_satisfiable_range(length)) {
                Some((from, to)) => {
                    let part = usize::try_from(from)
                        .ok()
                        .zip(usize::try_from(to).ok())
                        .and_then(|(from, to)| bytes.get(from..=to))
                        .ok_or(WebError::NotFound)?;
                    let mut response = HttpResponse::PartialContent();
                    response
                        .insert_header((
                            header::CONTENT_RANGE,
                            format!("bytes {from}-{to}/{length}"),
                        ))
                        .body(part)
                }
                None => HttpResponse::RangeNotSatisfiable()
                    .insert_header((header::CONTENT_RANGE, format!("bytes */{length}")))
                    .finish(),
            }
        }
        _ => HttpResponse::Ok().body(bytes),
    };
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::ACCEPT_RANGES,
        header::HeaderValue::from_static("bytes"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ac_mandates::speech::{speech_text, spoken_texts};

    fn hex_sha256(bytes: &[u8]) -> String {
        ring::digest::digest(&ring::digest::SHA256, bytes)
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The spoken consent says what the text says (docs/security/threat-model.md): every
    /// version's full and easy-to-read texts have a recording in each format, made from the
    /// words they have now. Edit a text (or what `ac_mandates::speech` makes of it) without
    /// `make audio` and this fails, naming the recording to make again.
    #[test]
    fn every_text_has_its_recording_made_from_its_current_words() {
        for (version, form) in spoken_texts() {
            let recordings = find(version, form);
            assert_eq!(
                recordings.len(),
                FORMATS.len(),
                "{version} {}: no recording in some format: run make audio and commit",
                form.key()
            );
            let words = speech_text(version, form).unwrap();
            for recording in recordings {
                assert_eq!(
                    recording.text_sha256,
                    hex_sha256(words.as_bytes()),
                    "{}: made from another text than {version} {} says now: run make audio and commit",
                    recording.file,
                    form.key()
                );
            }
        }
        assert_eq!(
            files::FILES.len(),
            spoken_texts().count() * FORMATS.len(),
            "a recording of no text"
        );
    }

    /// The manifest's file digests are the files' (a recording replaced by hand is caught), and
    /// the committed MANIFEST says the same as the embedded table.
    #[test]
    fn each_recording_is_the_file_the_manifest_names() {
        let manifest = include_str!("../static/audio/MANIFEST");
        for recording in files::FILES {
            assert_eq!(
                hex_sha256(recording.bytes),
                recording.file_sha256,
                "{}",
                recording.file
            );
            let line = format!(
                "{} {} {} {} {} {}",
                recording.file,
                recording.version,
                recording.form,
                recording.seconds,
                recording.text_sha256,
                recording.file_sha256
            );
            assert!(manifest.lines().any(|l| l == line), "MANIFEST lacks {line}");
            // Each file is what its type says: Ogg pages start with "OggS" and an Opus stream's
            // first packet with "OpusHead"; an MP3 frame with 11 set sync bits.
            let bytes = recording.bytes;
            match content_type(recording.file) {
                Some("audio/ogg; codecs=opus") => {
                    assert!(bytes.starts_with(b"OggS"), "{}", recording.file);
                    assert!(
                        bytes.windows(8).take(64).any(|w| w == b"OpusHead"),
                        "{}",
                        recording.file
                    );
                }
                Some("audio/mpeg") => {
                    assert!(
                        bytes[0] == 0xFF && bytes[1] & 0xE0 == 0xE0,
                        "{}",
                        recording.file
                    );
                }
                other => panic!("{}: {other:?}", recording.file),
            }
        }
    }

    #[test]
    fn durations_read_as_minutes_and_seconds() {
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(120), "2 min");
        assert_eq!(duration(200), "3 min 20 s");
    }
}
