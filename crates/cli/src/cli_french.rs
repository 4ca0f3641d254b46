//! The command line in French, like the rest of the service: clap writes its help headings and
//! its errors in English, so the help is re-labelled here and every parse error is told in
//! French (exit status 2, as clap's own errors).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, Command, CommandFactory, FromArgMatches};
use std::process::ExitCode;

const TEMPLATE: &str = "{about-with-newline}\nUtilisation : {usage}\n\n{all-args}{after-help}\n";

/// Parses the process's arguments into `T`; help and version are printed (status 0), errors are
/// printed in French (status 2).
pub fn parse<T: CommandFactory + FromArgMatches>() -> Result<T, ExitCode> {
    parse_from(std::env::args_os())
}

pub fn parse_from<T: CommandFactory + FromArgMatches>(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<T, ExitCode> {
    let mut command = in_french(T::command(), true);
    let matches = match command.try_get_matches_from_mut(args) {
        Ok(matches) => matches,
        Err(e) => return Err(report(&mut command, &e)),
    };
    T::from_arg_matches(&matches).map_err(|e| report(&mut command, &e))
}

/// The command and its subcommands with French headings, flags and default-value notes.
fn in_french(command: Command, top: bool) -> Command {
    let mut command = command
        .help_template(TEMPLATE)
        .subcommand_help_heading("Commandes")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .arg(
            clap::Arg::new("aide")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Affiche cette aide"),
        )
        .mut_args(|arg| {
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let heading = if arg.is_positional() {
                "Arguments"
            } else {
                "Options"
            };
            if defaults.is_empty() || matches!(arg.get_action(), ArgAction::SetTrue) {
                return arg.help_heading(heading);
            }
            let help = format!("{help} (par défaut : {})", defaults.join(", "));
            arg.help(help)
                .hide_default_value(true)
                .help_heading(heading)
        });
    if top && command.get_version().is_some() {
        command = command.disable_version_flag(true).arg(
            clap::Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("Affiche la version"),
        );
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_owned())
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |sub| in_french(sub, false));
    }
    command
}

fn context(e: &clap::Error, kind: ContextKind) -> String {
    match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join(", "),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// What went wrong, in French.
fn message(e: &clap::Error) -> String {
    let arg = context(e, ContextKind::InvalidArg);
    let value = context(e, ContextKind::InvalidValue);
    match e.kind() {
        ErrorKind::InvalidSubcommand => format!(
            "commande inconnue « {} »",
            context(e, ContextKind::InvalidSubcommand)
        ),
        ErrorKind::UnknownArgument => format!("option ou argument inconnu « {arg} »"),
        ErrorKind::InvalidValue => {
            let valid = context(e, ContextKind::ValidValue);
            if valid.is_empty() {
                format!("valeur « {value} » invalide pour {arg}")
            } else {
                format!("valeur « {value} » invalide pour {arg} (valeurs permises : {valid})")
            }
        }
        ErrorKind::ValueValidation => format!("valeur « {value} » invalide pour {arg}"),
        ErrorKind::MissingRequiredArgument => format!("argument obligatoire manquant : {arg}"),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            "une commande est attendue".to_owned()
        }
        ErrorKind::ArgumentConflict => {
            let other = context(e, ContextKind::PriorArg);
            format!("{arg} ne peut pas être employé avec {other}")
        }
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            format!("nombre de valeurs incorrect pour {arg}")
        }
        ErrorKind::NoEquals => format!("{arg} attend une valeur après « = »"),
        ErrorKind::InvalidUtf8 => "un argument n'est pas de l'UTF-8 valide".to_owned(),
        _ => "ligne de commande invalide".to_owned(),
    }
}

fn report(command: &mut Command, e: &clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Rendered from the French command, so the text is the re-labelled one.
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let usage = command.render_usage().to_string();
            let usage = usage.trim_start_matches("Usage:").trim();
            eprintln!(
                "erreur : {}\n\nUtilisation : {usage}\n\nPour l'aide : {} --help",
                message(e),
                command.get_name()
            );
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Parser, Debug)]
    #[command(name = "essai", about = "Un essai")]
    struct Essai {
        #[arg(long, default_value = "un")]
        mode: String,
        #[command(subcommand)]
        command: Sub,
    }

    #[derive(clap::Subcommand, Debug)]
    enum Sub {
        /// Fait quelque chose.
        Faire {
            #[arg(long)]
            combien: u32,
        },
    }

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        std::iter::once("essai")
            .chain(list.iter().copied())
            .map(Into::into)
            .collect()
    }

    #[test]
    fn the_help_is_in_french() {
        let help = in_french(Essai::command(), true).render_help().to_string();
        for french in [
            "Utilisation :",
            "Commandes",
            "Options",
            "Affiche cette aide",
            "(par défaut : un)",
        ] {
            assert!(help.contains(french), "{french} in {help}");
        }
        for english in [
            "Usage:",
            "Commands:",
            "Print help",
            "[default:",
            "Print this message",
        ] {
            assert!(!help.contains(english), "{english} in {help}");
        }
    }

    #[test]
    fn errors_are_told_in_french() {
        let error = |list: &[&str]| {
            let mut command = in_french(Essai::command(), true);
            message(&command.try_get_matches_from_mut(args(list)).unwrap_err())
        };
        assert_eq!(error(&["bidule"]), "commande inconnue « bidule »");
        assert_eq!(
            error(&["--vite", "faire"]),
            "option ou argument inconnu « --vite »"
        );
        assert_eq!(
            error(&["faire"]),
            "argument obligatoire manquant : --combien <COMBIEN>"
        );
        assert_eq!(
            error(&["faire", "--combien", "beaucoup"]),
            "valeur « beaucoup » invalide pour --combien <COMBIEN>"
        );
        assert_eq!(error(&[]), "une commande est attendue");
        assert!(parse_from::<Essai>(args(&["faire", "--combien", "3"])).is_ok());
    }
}
