## Shared pieces
month-1 = ianuarie
month-2 = februarie
month-3 = martie
month-4 = aprilie
month-5 = mai
month-6 = iunie
month-7 = iulie
month-8 = august
month-9 = septembrie
month-10 = octombrie
month-11 = noiembrie
month-12 = decembrie
written-day = { $day } { $month } { $year }
written-time = { $day }, ora { $hour }:{ $minute }
demarche-papiers = Acte - Cetățenie - Alegeri
demarche-papiers-examples = stare civilă, pașaport, carte de identitate, alegeri
demarche-famille = Familie - Școlarizare
demarche-famille-examples = alocații familiale, naștere, căsătorie, parteneriat civil (Pacs), școlarizare
demarche-social = Social - Sănătate
demarche-social-examples = card de sănătate (carte Vitale), șomaj, handicap, RSA, persoane vârstnice
demarche-travail = Muncă - Formare
demarche-travail-examples = contracte pe durată determinată, concursuri, pensie, demisie, formare
demarche-logement = Locuință
demarche-logement-examples = ajutoare pentru locuință, locuință socială, sfârșit de contract de închiriere
demarche-transports = Transport - Mobilitate
demarche-transports-examples = certificat de înmatriculare, permis de conducere, contravenții
demarche-argent = Bani - Impozite - Consum
demarche-argent-examples = impozite, credit, asigurări, supraîndatorare
demarche-justice = Justiție
demarche-justice-examples = cazier judiciar, plângere, asistență juridică
demarche-etranger = Străini - Europa
demarche-etranger-examples = permise de ședere, certificat de primire, reîntregirea familiei
demarche-loisirs = Timp liber - Sport - Cultură
demarche-loisirs-examples = animale, permis de barcă / vânătoare, turism
state-active = în vigoare
state-expiring = se termină curând
state-expired = terminat
state-revoked = oprit
state-suspended = suspendat: semnalare în curs
receipts-choice-each_use = La fiecare utilizare
receipts-choice-weekly = Un rezumat pe săptămână
receipts-choice-never = Niciodată
receipt-kind-mandate_created = crearea unui mandat
receipt-kind-demarche_revoked = oprirea unui demers
receipt-kind-mandate_revoked = oprirea unui mandat
receipt-kind-delegated_use = o utilizare a unui mandat
receipt-kind-expiry_reminder = sfârșitul apropiat al unui mandat
your-space = Spațiul dumneavoastră
back-home = Înapoi la pagina principală

## Navigation
aide-nav = Spațiul meu
aide-nav-mandates = Mandatele mele
aide-nav-history = Ce s-a făcut pentru mine
aide-nav-notices = Notificările mele
aide-sign-out = Deconectare

## Entry
aide-entry-title = Spațiul meu
aide-entry-1 = O structură de sprijin face demersuri online pentru dumneavoastră?
aide-entry-2 = Aici vedeți mandatele dumneavoastră.
aide-entry-3 = Vedeți tot ce s-a făcut în numele dumneavoastră.
aide-entry-4 = Puteți opri singur un mandat, oricând.
aide-entry-5 = Pentru a intra, folosiți propriul cont FranceConnect.
aide-entry-franceconnect = Identificați-vă cu
aide-entry-password = Nimeni în afară de dumneavoastră nu trebuie să scrie parola.

## No mandate
aide-none-title = Niciun mandat
aide-none-heading = Nu aveți niciun mandat
aide-none-1 = Nu am găsit niciun mandat pe numele dumneavoastră.
aide-none-2 = Deci nicio structură nu poate acționa pentru dumneavoastră cu acest serviciu.
aide-none-3 = Dacă credeți că este o greșeală, întrebați structura care vă ajută.
aide-none-4 = Un mandat terminat de mai mult de un an este șters: nu mai apare aici.

## My mandates
aide-mandates-intro = Iată toate mandatele dumneavoastră, în toate structurile.
aide-mandate-dates = Semnat pe { $created }. Se termină pe { $ends }.
aide-mandate-stop-demarche = Opriți acest demers
aide-mandate-text = Textul mandatului: versiunea { $version }.
aide-mandate-print = Exemplarul meu de tipărit
aide-mandate-code = Cod de verificare:
aide-mandate-verify = verificați acest mandat
aide-mandate-stop-all = Opriți tot acest mandat

## Revoking
aide-revoke-done-title = Oprire înregistrată
aide-revoke-done = Gata. Din { $at }, { $organisation } nu mai poate acționa pentru dumneavoastră.
aide-revoke-done-demarche = Gata. Din { $at }, { $organisation } nu mai poate acționa pentru dumneavoastră pentru demersul { $demarche }.
aide-revoke-attestation = Această pagină este dovada dumneavoastră. O puteți tipări.
aide-revoke-back = Înapoi la mandatele mele
aide-revoke-title = Opriți un mandat
aide-revoke-heading-demarche = Opriți un demers
aide-revoke-heading-mandate = Opriți acest mandat
aide-revoke-structure = Structura: { $organisation }.
aide-revoke-demarche = Demersul: { $demarche }.
aide-revoke-all = Toate demersurile încă în vigoare se opresc.
aide-revoke-effect = Oprirea are efect imediat. Structura nu va mai putea acționa pentru dumneavoastră.
aide-revoke-effect-demarche = Oprirea are efect imediat. Structura nu va mai putea acționa pentru dumneavoastră pentru acest demers.
aide-revoke-confirm = Confirm oprirea
aide-revoke-cancel = Anulare

## History
aide-history-intro-1 = Fiecare acțiune făcută în numele dumneavoastră este scrisă într-un registru pe care nimeni nu îl poate modifica fără să se vadă. Cea mai recentă este sus.
aide-history-intro-2 = „Verificați” oferă o dovadă, semnată de serviciu, că linia este într-adevăr în acest registru. Oricine o poate controla cu cheia publică a serviciului.
aide-history-verify = Verificați
aide-history-empty = Nimic deocamdată.
aide-history-older = Mai vechi
history-line = Pe { $when }, { $who } { $what }.
history-line-demarche = Pe { $when }, { $who } { $what } — demersul { $demarche }.
history-who-aidant = { $name } ({ $structure })
history-who-yourself = dumneavoastră ({ $structure })
history-who-service = serviciul
history-a-partner-site = un site partener
history-delegation-completed = s-a conectat pentru dumneavoastră pe { $site }
history-mandate-created = a creat un mandat pentru dumneavoastră
history-mandate-renewed = a reînnoit mandatul dumneavoastră
history-mandate-revoked = a oprit mandatul dumneavoastră
history-authorization-revoked = a oprit un demers din mandatul dumneavoastră
history-mandate-deleted = a șters un mandat terminat de mai mult de un an
history-report-opened = a semnalat „Nu am fost eu”: mandatul este suspendat
history-report-closed = a închis semnalarea dumneavoastră
history-other = a făcut o acțiune ({ $action })

## Signed out
aide-signed-out-title = Deconectat
aide-signed-out-heading = Sunteți deconectat
aide-signed-out-closed = Sesiunea FranceConnect este închisă și ea.
aide-signed-out-shared = Nu uitați să închideți sesiunea FranceConnect dacă folosiți un aparat comun.
aide-signed-out-back = Înapoi la spațiul meu

## Notices
aide-notices-saved = S-a salvat.
aide-notices-intro = Când o structură acționează pentru dumneavoastră, vă putem trimite o chitanță prin e-mail.
aide-notices-stored = Adresă salvată: { $masked }.
aide-notices-legend = Primiți o chitanță
aide-notices-new-address = Adresă de e-mail nouă (lăsați gol pentru a o păstra pe aceeași)
aide-notices-address = Adresă de e-mail
aide-notices-save = Salvați

## Receipt check
receipt-genuine-title = Chitanță autentică
receipt-unknown-title = Chitanță necunoscută
receipt-genuine = Această chitanță a fost într-adevăr trimisă de Aidants Connect.
receipt-about = Este despre { $kind }, pe { $day }.
receipt-entry = Corespunde intrării nr. { $seq } din registrul serviciului. Această intrare nu mai poate fi modificată fără să se vadă: amprenta ei este { $hash }.
receipt-entry-soon = Intrarea din registru care îi corespunde va fi scrisă în câteva clipe: reîncărcați pagina.
receipt-nothing-personal = Această pagină nu arată nimic despre persoană. Detaliile sunt în mesajul primit și în spațiul persoanei.
receipt-unknown = Nicio chitanță nu corespunde acestui cod. Poate că acest mesaj nu vine de la Aidants Connect: nu deschideți linkurile lui.

## “It was not me”
report-received = Ați primit un mesaj de la Aidants Connect despre { $kind }, pe { $day }, la structura { $structure }.
report-question = Nu ați fost dumneavoastră sau nu erați de acord?
report-suspended-at-once = Mandatul va fi suspendat imediat: nimeni nu îl va mai putea folosi.
report-structure-told = Structura va fi anunțată. Va analiza situația împreună cu dumneavoastră.
report-submit = Nu am fost eu: semnalez
report-do-nothing = Nu fac nimic
report-done = Gata. Mandatul este suspendat: nimeni nu îl mai poate folosi.
report-done-structure = Structura { $structure } a fost anunțată. Vă va contacta, sau mergeți la ea.
report-ended = Acest mandat este deja oprit sau terminat. Nimeni nu îl mai poate folosi: nu s-a schimbat nimic.
report-already = L-ați semnalat deja. Mandatul este suspendat: nu s-a schimbat nimic.
report-title-confirm = Nu am fost eu
report-title-refused = Link nevalabil
report-title-opened = Semnalare înregistrată
report-title-ended = Deja oprit
report-title-already = Deja semnalat
report-link-unknown = Acest link nu este valabil. Copiați-l în întregime din mesajul primit.
report-link-used = Acest link a fost deja folosit: semnalarea este înregistrată.
report-link-expired = Acest link a expirat. Pentru a opri mandatul, mergeți în spațiul dumneavoastră sau sunați la structură.
