## Shared pieces
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December
written-day = { $day } { $month } { $year }
written-time = { $day } at { $hour }:{ $minute }
demarche-papiers = Papers - Citizenship - Elections
demarche-papiers-examples = civil status, passport, identity card, elections
demarche-famille = Family - Schooling
demarche-famille-examples = family benefits, birth, marriage, civil partnership (Pacs), schooling
demarche-social = Social - Health
demarche-social-examples = health insurance card (carte Vitale), unemployment, disability, RSA income support, older people
demarche-travail = Work - Training
demarche-travail-examples = fixed-term contracts, competitive exams, retirement, resignation, training
demarche-logement = Housing
demarche-logement-examples = housing benefits, social housing, end of a lease
demarche-transports = Transport - Mobility
demarche-transports-examples = vehicle registration, driving licence, traffic offences
demarche-argent = Money - Taxes - Consumer matters
demarche-argent-examples = taxes, credit, insurance, over-indebtedness
demarche-justice = Justice
demarche-justice-examples = criminal record, complaint, legal aid
demarche-etranger = Foreign nationals - Europe
demarche-etranger-examples = residence permits, certificate of accommodation, family reunification
demarche-loisirs = Leisure - Sport - Culture
demarche-loisirs-examples = animals, boating / hunting licence, tourism
state-active = active
state-expiring = ends soon
state-expired = ended
state-revoked = stopped
state-suspended = suspended: report being handled
receipts-choice-each_use = Each time it is used
receipts-choice-weekly = A summary every week
receipts-choice-never = Never
receipt-kind-mandate_created = the creation of a mandate
receipt-kind-demarche_revoked = the stopping of one procedure
receipt-kind-mandate_revoked = the stopping of a mandate
receipt-kind-delegated_use = a use of a mandate
receipt-kind-expiry_reminder = a mandate ending soon
your-space = Your space
back-home = Back to the home page

## Navigation
aide-nav = My space
aide-nav-mandates = My mandates
aide-nav-history = What was done for me
aide-nav-notices = My notifications
aide-sign-out = Sign out

## Entry
aide-entry-title = My space
aide-entry-1 = Does a support organisation carry out online procedures for you?
aide-entry-2 = Here, you can see your mandates.
aide-entry-3 = You can see everything that was done in your name.
aide-entry-4 = You can stop a mandate yourself, at any time.
aide-entry-5 = To enter, use your own FranceConnect account.
aide-entry-franceconnect = Sign in with
aide-entry-password = Nobody but you should type your password.

## No mandate
aide-none-title = No mandate
aide-none-heading = You have no mandate
aide-none-1 = We found no mandate in your name.
aide-none-2 = So no organisation can act for you with this service.
aide-none-3 = If you think this is a mistake, ask the organisation that helps you.
aide-none-4 = A mandate that ended more than a year ago is deleted: it no longer appears here.

## My mandates
aide-mandates-intro = Here are all your mandates, in all organisations.
aide-mandate-dates = Signed on { $created }. Ends on { $ends }.
aide-mandate-stop-demarche = Stop this procedure
aide-mandate-text = Text of the mandate: version { $version }.
aide-mandate-print = My copy to print
aide-mandate-code = Verification code:
aide-mandate-verify = check this mandate
aide-mandate-stop-all = Stop this whole mandate

## Revoking
aide-revoke-done-title = Stopping recorded
aide-revoke-done = Done. Since { $at }, { $organisation } can no longer act for you.
aide-revoke-done-demarche = Done. Since { $at }, { $organisation } can no longer act for you for the procedure { $demarche }.
aide-revoke-attestation = This page is your certificate. You can print it.
aide-revoke-back = Back to my mandates
aide-revoke-title = Stop a mandate
aide-revoke-heading-demarche = Stop one procedure
aide-revoke-heading-mandate = Stop this mandate
aide-revoke-structure = Organisation: { $organisation }.
aide-revoke-demarche = Procedure: { $demarche }.
aide-revoke-all = All procedures still active stop.
aide-revoke-effect = It takes effect at once. The organisation will no longer be able to act for you.
aide-revoke-effect-demarche = It takes effect at once. The organisation will no longer be able to act for you for this procedure.
aide-revoke-confirm = I confirm: stop it
aide-revoke-cancel = Cancel

## History
aide-history-intro-1 = Every action done in your name is written in a log that nobody can change without it showing. The most recent is at the top.
aide-history-intro-2 = “Check” gives a proof, signed by the service, that the line really is in this log. Anyone can check it with the service's public key.
aide-history-verify = Check
aide-history-empty = Nothing for now.
aide-history-older = See older
history-line = On { $when }, { $who } { $what }.
history-line-demarche = On { $when }, { $who } { $what } — procedure { $demarche }.
history-who-aidant = { $name } ({ $structure })
history-who-yourself = you yourself ({ $structure })
history-who-service = the service
history-a-partner-site = a partner website
history-delegation-completed = signed in for you on { $site }
history-mandate-created = created a mandate for you
history-mandate-renewed = renewed your mandate
history-mandate-revoked = stopped your mandate
history-authorization-revoked = stopped one procedure of your mandate
history-mandate-deleted = deleted a mandate that ended more than a year ago
history-report-opened = reported “It was not me”: the mandate is suspended
history-report-closed = closed your report
history-other = did an action ({ $action })

## Signed out
aide-signed-out-title = Signed out
aide-signed-out-heading = You are signed out
aide-signed-out-closed = Your FranceConnect session is closed too.
aide-signed-out-shared = Remember to close your FranceConnect session if you are on a shared device.
aide-signed-out-back = Back to my space

## Notices
aide-notices-saved = Saved.
aide-notices-intro = When an organisation acts for you, we can send you a receipt by e-mail.
aide-notices-stored = Address on record: { $masked }.
aide-notices-legend = Receive a receipt
aide-notices-new-address = New e-mail address (leave empty to keep the same one)
aide-notices-address = E-mail address
aide-notices-save = Save

## Receipt check
receipt-genuine-title = Genuine receipt
receipt-unknown-title = Unknown receipt
receipt-genuine = This receipt was indeed sent by Aidants Connect.
receipt-about = It is about { $kind }, on { $day }.
receipt-entry = It matches entry no. { $seq } of the service's log. This entry can no longer be changed without it showing: its fingerprint is { $hash }.
receipt-entry-soon = The matching log entry will be written in a few moments: reload the page.
receipt-nothing-personal = This page shows nothing about the person. The details are in the message received, and in the person's space.
receipt-unknown = No receipt matches this code. This message may not come from Aidants Connect: do not open its links.

## “It was not me”
report-received = You received a message from Aidants Connect about { $kind }, on { $day }, at the organisation { $structure }.
report-question = It was not you, or you did not agree?
report-suspended-at-once = The mandate will be suspended at once: nobody will be able to use it any more.
report-structure-told = The organisation will be told. It will look into it with you.
report-submit = It was not me: I report it
report-do-nothing = Do nothing
report-done = Done. The mandate is suspended: nobody can use it any more.
report-done-structure = The organisation { $structure } has been told. It will contact you, or you can go and see it.
report-ended = This mandate is already stopped or ended. Nobody can use it any more: nothing was changed.
report-already = You already reported it. The mandate is suspended: nothing was changed.
report-title-confirm = It was not me
report-title-refused = Link not valid
report-title-opened = Report recorded
report-title-ended = Already stopped
report-title-already = Already reported
report-link-unknown = This link is not valid. Copy it in full from the message you received.
report-link-used = This link has already been used: the report is recorded.
report-link-expired = This link has expired. To stop the mandate, go to your space, or call the organisation.
