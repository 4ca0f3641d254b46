//! Prints what the « Écouter » recording of a legal text says (`ac_mandates::speech`), for
//! `make audio` (crates/web/audio/generate.sh, docs/audio.md):
//!
//! ```sh
//! cargo run -q -p ac-mandates --example speech_text -- --list          # VERSION FORM, one a line
//! cargo run -q -p ac-mandates --example speech_text -- 2026-01 facile  # the text espeak-ng reads
//! ```

use std::io::Write;
use std::process::ExitCode;

use ac_mandates::speech::{SpokenForm, speech_text, spoken_texts};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = match args.as_slice() {
        [list] if list == "--list" => Ok(spoken_texts()
            .map(|(version, form)| format!("{version} {}\n", form.key()))
            .collect::<String>()),
        [version, form] => match SpokenForm::from_key(form) {
            Some(form) => speech_text(version, form).map_err(|e| e.to_string()),
            None => Err(format!("unknown form « {form} »: complet or facile")),
        },
        _ => Err("usage: speech_text --list | speech_text VERSION complet|facile".to_owned()),
    };
    match out {
        // The exact bytes: make audio hashes them, and the web crate's test hashes the same string.
        Ok(text) => match std::io::stdout().write_all(text.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::FAILURE,
        },
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
