//! The main navigation of a signed-in person's pages, following what their account may do: the
//! DSFR header's menu (`base.html`). Built from plain values so the templates' floor does not
//! depend on the session extractor that fills it.

use serde::Serialize;

/// What the account may do, as the menu needs it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Roles {
    /// An aidant habilité: the people helped and the creation of mandates.
    pub helps_people: bool,
    pub referent: bool,
    pub coordinator: bool,
}

/// The menu of one page: its links (the current section marked) and the logout form's token.
#[derive(Debug, Clone, Serialize)]
pub struct Menu {
    pub items: Vec<MenuItem>,
    /// The CSRF token of the « Se déconnecter » form (logout is a POST).
    pub csrf: String,
    /// Who is signed in, shown beside the menu.
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MenuItem {
    pub label: &'static str,
    pub href: &'static str,
    /// The page is in this section (`aria-current="page"`).
    pub current: bool,
}

/// A section of the menu: its words, its address, who sees it, and which paths belong to it.
type Section = (
    &'static str,
    &'static str,
    fn(&Roles) -> bool,
    fn(&str) -> bool,
);

/// The sections in menu order.
const SECTIONS: [Section; 5] = [
    (
        "Mon espace",
        "/espace",
        |_| true,
        |p| p.starts_with("/espace"),
    ),
    (
        "Usagers",
        "/usagers",
        |r| r.helps_people,
        |p| p.starts_with("/usagers") || (p.starts_with("/mandats/") && !in_creation(p)),
    ),
    (
        "Créer un mandat",
        "/mandats/nouveau",
        |r| r.helps_people,
        in_creation,
    ),
    (
        "Référent",
        "/referent",
        |r| r.referent,
        |p| p.starts_with("/referent"),
    ),
    (
        "Coordination",
        "/coordination",
        |r| r.coordinator,
        |p| p.starts_with("/coordination"),
    ),
];

/// The pages of the creation journey (a renewal is one too, but starts from a mandate).
fn in_creation(path: &str) -> bool {
    path == "/mandats/nouveau"
        || path == "/mandats/accord"
        || path.starts_with("/mandats/identification")
        || path.starts_with("/mandats/franceconnect")
}

impl Menu {
    pub fn new(roles: Roles, path: &str, name: String, csrf: String) -> Self {
        let items = SECTIONS
            .iter()
            .filter(|(_, _, shown, _)| shown(&roles))
            .map(|(label, href, _, owns)| MenuItem {
                label,
                href,
                current: owns(path),
            })
            .collect();
        Self { items, csrf, name }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(menu: &Menu) -> Vec<&str> {
        menu.items.iter().map(|i| i.label).collect()
    }

    fn current(menu: &Menu) -> Vec<&str> {
        menu.items
            .iter()
            .filter(|i| i.current)
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn the_menu_follows_the_roles() {
        let aidant = Roles {
            helps_people: true,
            ..Roles::default()
        };
        let menu = Menu::new(aidant, "/espace", "A".into(), "t".into());
        assert_eq!(labels(&menu), ["Mon espace", "Usagers", "Créer un mandat"]);
        let coordinator = Roles {
            coordinator: true,
            ..Roles::default()
        };
        let menu = Menu::new(coordinator, "/coordination/journal", "C".into(), "t".into());
        assert_eq!(labels(&menu), ["Mon espace", "Coordination"]);
        assert_eq!(current(&menu), ["Coordination"]);
        let all = Roles {
            helps_people: true,
            referent: true,
            coordinator: true,
        };
        let menu = Menu::new(all, "/referent/o1", "R".into(), "t".into());
        assert_eq!(
            labels(&menu),
            [
                "Mon espace",
                "Usagers",
                "Créer un mandat",
                "Référent",
                "Coordination"
            ]
        );
        assert_eq!(current(&menu), ["Référent"]);
    }

    #[test]
    fn one_section_is_current_at_most() {
        let all = Roles {
            helps_people: true,
            referent: true,
            coordinator: true,
        };
        for (path, section) in [
            ("/mandats/nouveau", Some("Créer un mandat")),
            ("/mandats/identification", Some("Créer un mandat")),
            ("/mandats/m1", Some("Usagers")),
            ("/mandats/m1/imprimer", Some("Usagers")),
            ("/usagers/u1", Some("Usagers")),
            ("/oidc/selection", None),
        ] {
            let menu = Menu::new(all, path, "R".into(), "t".into());
            assert_eq!(
                current(&menu),
                section.into_iter().collect::<Vec<_>>(),
                "{path}"
            );
        }
    }
}
