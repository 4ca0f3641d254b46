//! The fictional people one can sign in as (FranceConnect's identité pivot).

pub struct Identity {
    /// Stable key, part of the `sub`.
    pub key: &'static str,
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub birthdate: &'static str,
    pub gender: &'static str,
    /// INSEE commune code; empty when born abroad, as FranceConnect sends it.
    pub birthplace: &'static str,
    pub birthcountry: &'static str,
    pub email: &'static str,
    pub preferred_username: &'static str,
    /// Shown on the choice page.
    pub born: &'static str,
}

pub const IDENTITIES: [Identity; 5] = [
    Identity {
        key: "angela-dubois",
        given_name: "Angela Claire Louise",
        family_name: "DUBOIS",
        birthdate: "1962-08-24",
        gender: "female",
        birthplace: "75107",
        birthcountry: "99100",
        email: "angela.dubois@exemple.fr",
        preferred_username: "",
        born: "née le 24/08/1962 à Paris 7e",
    },
    Identity {
        key: "karim-benali",
        given_name: "Karim",
        family_name: "BENALI",
        birthdate: "1979-03-02",
        gender: "male",
        birthplace: "",
        birthcountry: "99350",
        email: "karim.benali@exemple.fr",
        preferred_username: "",
        born: "né le 02/03/1979 au Maroc",
    },
    Identity {
        key: "mai-nguyen",
        given_name: "Mai Thi",
        family_name: "NGUYEN",
        birthdate: "1990-11-05",
        gender: "female",
        birthplace: "",
        birthcountry: "99243",
        email: "",
        preferred_username: "",
        born: "née le 05/11/1990 au Viêt Nam",
    },
    Identity {
        key: "jean-pierre-martin",
        given_name: "Jean-Pierre",
        family_name: "MARTIN",
        birthdate: "1948-07-14",
        gender: "male",
        birthplace: "29019",
        birthcountry: "99100",
        email: "jp.martin@exemple.fr",
        preferred_username: "",
        born: "né le 14/07/1948 à Brest",
    },
    Identity {
        key: "lucie-rossi",
        given_name: "Lucie Marie",
        family_name: "ROSSI",
        birthdate: "1985-01-31",
        gender: "female",
        birthplace: "2A004",
        birthcountry: "99100",
        email: "lucie.rossi@exemple.fr",
        preferred_username: "LEONETTI",
        born: "née le 31/01/1985 à Ajaccio",
    },
];

impl Identity {
    pub fn claim(&self, name: &str) -> Option<&'static str> {
        Some(match name {
            "given_name" => self.given_name,
            "family_name" => self.family_name,
            "birthdate" => self.birthdate,
            "gender" => self.gender,
            "birthplace" => self.birthplace,
            "birthcountry" => self.birthcountry,
            "email" if !self.email.is_empty() => self.email,
            "preferred_username" => self.preferred_username,
            _ => return None,
        })
    }

    pub fn display_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}
