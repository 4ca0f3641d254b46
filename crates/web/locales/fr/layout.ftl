# The page layout (base.html, footer.html). French is the source: every other language has the
# same messages (i18n.rs tests).
layout-skiplinks = Accès rapide
layout-content = Contenu
layout-footer = Pied de page
layout-home-title = Accueil - Aidants Connect
layout-tagline = Agir pour autrui, avec son accord, dans un cadre sûr
layout-languages = Langue
layout-footer-home-title = Retour à l'accueil du site - Aidants Connect - République Française
layout-footer-about = Aidants Connect permet à un aidant professionnel de faire des démarches en ligne pour une personne qui lui a donné un mandat. Chaque action faite pour autrui est tracée.
layout-sitemap = Plan du site
layout-accessibility = Accessibilité : non conforme
layout-legal-notice = Mentions légales
layout-personal-data = Données personnelles
layout-licence = Sauf mention explicite de propriété intellectuelle détenue par des tiers, les contenus de ce site sont proposés sous licence etalab-2.0.
layout-french-binds = Traduction pour vous aider. Seul le texte en français fait foi.
