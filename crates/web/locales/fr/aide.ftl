# The aidé's own space (/mon-espace) and the receipts' pages (/recu, /signalement).

## Shared pieces
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre
# A day: 6 décembre 2026 (the first of the month: 1er).
written-day = { $day ->
    [1] 1er
   *[other] { $day }
} { $month } { $year }
# A moment: 6 décembre 2026 à 14 h 05.
written-time = { $day } à { $hour } h { $minute }
demarche-papiers = Papiers - Citoyenneté - Élections
demarche-papiers-examples = état civil, passeport, carte d'identité, élections
demarche-famille = Famille - Scolarité
demarche-famille-examples = allocations familiales, naissance, mariage, Pacs, scolarité
demarche-social = Social - Santé
demarche-social-examples = carte Vitale, chômage, handicap, RSA, personnes âgées
demarche-travail = Travail - Formation
demarche-travail-examples = CDD, concours, retraite, démission, formation
demarche-logement = Logement
demarche-logement-examples = aides au logement, logement social, fin de bail
demarche-transports = Transports - Mobilité
demarche-transports-examples = carte grise, permis de conduire, infractions
demarche-argent = Argent - Impôts - Consommation
demarche-argent-examples = impôts, crédit, assurance, surendettement
demarche-justice = Justice
demarche-justice-examples = casier judiciaire, plainte, aide juridictionnelle
demarche-etranger = Étranger - Europe
demarche-etranger-examples = titres de séjour, attestation d'accueil, regroupement familial
demarche-loisirs = Loisirs - Sport - Culture
demarche-loisirs-examples = animaux, permis bateau / chasse, tourisme
state-active = en cours
state-expiring = expire bientôt
state-expired = expiré
state-revoked = révoqué
state-suspended = suspendu : signalement en cours
receipts-choice-each_use = À chaque utilisation
receipts-choice-weekly = Un résumé par semaine
receipts-choice-never = Jamais
receipt-kind-mandate_created = la création d'un mandat
receipt-kind-demarche_revoked = la révocation d'une démarche
receipt-kind-mandate_revoked = la révocation d'un mandat
receipt-kind-delegated_use = une utilisation d'un mandat
receipt-kind-expiry_reminder = la fin prochaine d'un mandat
your-space = Votre espace
back-home = Retour à l'accueil

## Navigation
aide-nav = Mon espace
aide-nav-mandates = Mes mandats
aide-nav-history = Ce qui a été fait pour moi
aide-nav-notices = Mes avis
aide-sign-out = Se déconnecter

## Entry
aide-entry-title = Mon espace
aide-entry-1 = Une structure d'aide fait des démarches en ligne pour vous ?
aide-entry-2 = Ici, vous voyez vos mandats.
aide-entry-3 = Vous voyez tout ce qui a été fait en votre nom.
aide-entry-4 = Vous pouvez arrêter un mandat vous-même, à tout moment.
aide-entry-5 = Pour entrer, utilisez votre propre compte FranceConnect.
aide-entry-franceconnect = S'identifier avec
aide-entry-password = Personne d'autre que vous ne doit taper votre mot de passe.

## No mandate
aide-none-title = Aucun mandat
aide-none-heading = Vous n'avez aucun mandat
aide-none-1 = Nous n'avons trouvé aucun mandat à votre nom.
aide-none-2 = Aucune structure ne peut donc agir pour vous avec ce service.
aide-none-3 = Si vous pensez que c'est une erreur, demandez à la structure qui vous aide.
aide-none-4 = Un mandat terminé depuis plus d'un an est supprimé : il n'apparaît plus ici.

## My mandates
aide-mandates-intro = Voici tous vos mandats, dans toutes les structures.
aide-mandate-dates = Signé le { $created }. Prend fin le { $ends }.
aide-mandate-stop-demarche = Arrêter cette démarche
aide-mandate-text = Texte du mandat : version { $version }.
aide-mandate-print = Mon exemplaire à imprimer
aide-mandate-code = Code de vérification :
aide-mandate-verify = vérifier ce mandat
aide-mandate-stop-all = Arrêter tout ce mandat

## Revoking
aide-revoke-done-title = Révocation enregistrée
aide-revoke-done = C'est fait. Depuis le { $at }, { $organisation } ne peut plus agir pour vous.
aide-revoke-done-demarche = C'est fait. Depuis le { $at }, { $organisation } ne peut plus agir pour vous pour la démarche { $demarche }.
aide-revoke-attestation = Cette page est votre attestation. Vous pouvez l'imprimer.
aide-revoke-back = Retour à mes mandats
aide-revoke-title = Arrêter un mandat
aide-revoke-heading-demarche = Arrêter une démarche
aide-revoke-heading-mandate = Arrêter ce mandat
aide-revoke-structure = Structure : { $organisation }.
aide-revoke-demarche = Démarche : { $demarche }.
aide-revoke-all = Toutes les démarches encore en cours s'arrêtent.
aide-revoke-effect = L'arrêt prend effet tout de suite. La structure ne pourra plus agir pour vous.
aide-revoke-effect-demarche = L'arrêt prend effet tout de suite. La structure ne pourra plus agir pour vous pour cette démarche.
aide-revoke-confirm = Je confirme l'arrêt
aide-revoke-cancel = Annuler

## History
aide-history-intro-1 = Chaque action faite en votre nom est écrite dans un journal que personne ne peut modifier sans que cela se voie. Le plus récent est en haut.
aide-history-intro-2 = « Vérifier » donne une preuve, signée par le service, que la ligne est bien dans ce journal. Tout le monde peut la contrôler avec la clé publique du service.
aide-history-verify = Vérifier
aide-history-empty = Rien pour le moment.
aide-history-older = Voir plus ancien
history-line = Le { $when }, { $who } { $what }.
history-line-demarche = Le { $when }, { $who } { $what } — démarche { $demarche }.
history-who-aidant = { $name } ({ $structure })
history-who-yourself = vous-même ({ $structure })
history-who-service = le service
history-a-partner-site = un site partenaire
history-delegation-completed = s'est connecté pour vous sur { $site }
history-mandate-created = a créé un mandat pour vous
history-mandate-renewed = a renouvelé votre mandat
history-mandate-revoked = a révoqué votre mandat
history-authorization-revoked = a révoqué une démarche de votre mandat
history-mandate-deleted = a supprimé un mandat terminé depuis plus d'un an
history-report-opened = a signalé « Ce n'était pas moi » : le mandat est suspendu
history-report-closed = a clos votre signalement
history-other = a fait une action ({ $action })

## Signed out
aide-signed-out-title = Déconnecté
aide-signed-out-heading = Vous êtes déconnecté
aide-signed-out-closed = Votre session FranceConnect est fermée aussi.
aide-signed-out-shared = Pensez à fermer votre session FranceConnect si vous êtes sur un appareil partagé.
aide-signed-out-back = Revenir à mon espace

## Notices (receipts by e-mail)
aide-notices-saved = C'est enregistré.
aide-notices-intro = Quand une structure agit pour vous, nous pouvons vous envoyer un reçu par courriel.
aide-notices-stored = Adresse enregistrée : { $masked }.
aide-notices-legend = Recevoir un reçu
aide-notices-new-address = Nouvelle adresse électronique (laissez vide pour garder la même)
aide-notices-address = Adresse électronique
aide-notices-save = Enregistrer

## Receipt check (/recu/{code})
receipt-genuine-title = Reçu authentique
receipt-unknown-title = Reçu inconnu
receipt-genuine = Ce reçu a bien été envoyé par Aidants Connect.
receipt-about = Il porte sur { $kind }, le { $day }.
receipt-entry = Il correspond à l'entrée n° { $seq } du journal du service. Cette entrée ne peut plus être changée sans que cela se voie : son empreinte est { $hash }.
receipt-entry-soon = L'entrée du journal qui lui correspond sera inscrite dans quelques instants : rechargez la page.
receipt-nothing-personal = Cette page ne montre rien sur la personne. Le détail est dans le message reçu, et dans l'espace de la personne.
receipt-unknown = Aucun reçu ne correspond à ce code. Ce message ne vient peut-être pas d'Aidants Connect : n'ouvrez pas ses liens.

## « Ce n'était pas moi » (/signalement/{token})
report-received = Vous avez reçu un message d'Aidants Connect sur { $kind }, le { $day }, à la structure { $structure }.
report-question = Ce n'était pas vous, ou vous n'étiez pas d'accord ?
report-suspended-at-once = Le mandat sera suspendu tout de suite : plus personne ne pourra l'utiliser.
report-structure-told = La structure sera prévenue. Elle verra la situation avec vous.
report-submit = Ce n'était pas moi : je signale
report-do-nothing = Ne rien faire
report-done = C'est fait. Le mandat est suspendu : plus personne ne peut l'utiliser.
report-done-structure = La structure { $structure } est prévenue. Elle vous contactera, ou passez la voir.
report-ended = Ce mandat est déjà arrêté ou terminé. Plus personne ne peut l'utiliser : rien n'a été changé.
report-already = Vous l'avez déjà signalé. Le mandat est suspendu : rien n'a été changé.
report-title-confirm = Ce n'était pas moi
report-title-refused = Lien non valable
report-title-opened = Signalement enregistré
report-title-ended = Déjà arrêté
report-title-already = Déjà signalé
report-link-unknown = Ce lien n'est pas valable. Recopiez-le en entier depuis le message reçu.
report-link-used = Ce lien a déjà servi : le signalement est enregistré.
report-link-expired = Ce lien a expiré. Pour arrêter le mandat, allez dans votre espace, ou appelez la structure.
