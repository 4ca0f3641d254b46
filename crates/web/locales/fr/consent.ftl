# The consent recap on the tablet (identification/recap.html): what the aidé reads. The aidant's
# own part (their code) stays in French.
recap-title = Récapitulatif du mandat
recap-language-legend = Lire cette page en
recap-renewal = Ce mandat renouvelle le précédent ; les démarches qu'il reprend y sont remplacées.
recap-person = La personne accompagnée
recap-given-names = Prénoms
recap-family-name = Nom de naissance
recap-birthdate = Date de naissance
recap-birthplace = Lieu de naissance
recap-born-abroad = À l'étranger
recap-born-in-france = En France
recap-identified = Identité confirmée par FranceConnect ; la session FranceConnect est fermée.
recap-not-identified = Renouvellement sans nouvelle identification FranceConnect (réglage de la structure) : l'aidant vérifie que c'est bien la personne du mandat renouvelé.
recap-what = Ce que vous donnez
recap-gives = Vous donnez mandat à { $organisation } pour les démarches suivantes, jusqu'au { $until } :
recap-for-example = par exemple : { $examples }
recap-meaning = Un aidant de cette structure pourra faire ces démarches en ligne à votre place. Il ne connaîtra jamais vos mots de passe, et chaque action est enregistrée. Vous pouvez révoquer ce mandat à tout moment, auprès de la structure ou vous-même dans votre espace personnel
recap-own-space = Mon espace usager
recap-with-franceconnect = avec FranceConnect
recap-text-heading = Le texte du mandat
recap-text-intro = C'est le texte que vous acceptez en donnant votre accord. Il est imprimé avec le mandat.
recap-retention = Vos données sont gardées pendant tout le mandat, puis { $years ->
    [one] { $years } an
   *[other] { $years } ans
} après sa fin ou sa révocation, puis supprimées. Le journal des actions, qui ne contient pas votre nom, est gardé { $journal } ans. Pour toute question sur vos données, adressez-vous à la structure.
recap-full-binds = Le texte complet est celui qui compte.
recap-printed = Il est imprimé avec le mandat.
recap-read-full-summary = Lire le texte complet du mandat
recap-full-in-french = Le texte complet n'existe qu'en français. Le texte facile à lire est traduit.
recap-button-full = Lire le texte complet
recap-button-easy = Lire en facile à lire
recap-french-column = Texte en français (il fait foi)
recap-translation-column = Traduction
recap-listen-easy = Écouter le texte facile à lire
recap-listen-full = Écouter le texte complet
recap-listen-note = { $duration }, voix de synthèse
recap-listen-in-french = L'enregistrement est en français.
recap-listen-download = Télécharger l'enregistrement
recap-transcript = Transcription :
recap-transcript-link = le texte écrit ci-dessous
recap-transcript-end = , que l'enregistrement dit mot pour mot.
recap-accord = Je donne mon accord
recap-receipts-legend = Recevoir un reçu (si vous le voulez)
recap-receipts-hint = Quand la structure agit pour vous, nous pouvons vous écrire. Vous pourrez changer d'avis dans votre espace.
recap-email-stored = Adresse électronique enregistrée : { $masked }. Une autre adresse ?
recap-email = Votre adresse électronique
recap-refusal = La personne ne souhaite pas donner mandat, ou vous devez arrêter ? Rien ne sera créé.
recap-refusal-forget = La personne ne souhaite pas donner mandat, ou vous devez arrêter ? Rien ne sera créé, et l'identité reçue de FranceConnect pour ce mandat sera effacée.
recap-refuse = Je refuse
