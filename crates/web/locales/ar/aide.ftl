## Shared pieces
month-1 = يناير
month-2 = فبراير
month-3 = مارس
month-4 = أبريل
month-5 = مايو
month-6 = يونيو
month-7 = يوليو
month-8 = أغسطس
month-9 = سبتمبر
month-10 = أكتوبر
month-11 = نوفمبر
month-12 = ديسمبر
written-day = { $day } { $month } { $year }
written-time = { $day } على الساعة { $hour }:{ $minute }
demarche-papiers = الوثائق - المواطنة - الانتخابات
demarche-papiers-examples = الحالة المدنية، جواز السفر، بطاقة الهوية، الانتخابات
demarche-famille = الأسرة - التمدرس
demarche-famille-examples = المنح العائلية، الولادة، الزواج، الشراكة المدنية (Pacs)، التمدرس
demarche-social = الشؤون الاجتماعية - الصحة
demarche-social-examples = بطاقة التأمين الصحي (carte Vitale)، البطالة، الإعاقة، RSA، كبار السن
demarche-travail = العمل - التكوين
demarche-travail-examples = عقود العمل المحددة المدة، المباريات، التقاعد، الاستقالة، التكوين
demarche-logement = السكن
demarche-logement-examples = مساعدات السكن، السكن الاجتماعي، نهاية عقد الإيجار
demarche-transports = النقل - التنقل
demarche-transports-examples = البطاقة الرمادية، رخصة السياقة، المخالفات
demarche-argent = المال - الضرائب - الاستهلاك
demarche-argent-examples = الضرائب، القروض، التأمين، الإفراط في المديونية
demarche-justice = العدالة
demarche-justice-examples = السجل العدلي، الشكوى، المساعدة القضائية
demarche-etranger = الأجانب - أوروبا
demarche-etranger-examples = بطاقات الإقامة، شهادة الاستقبال، التجمع العائلي
demarche-loisirs = الترفيه - الرياضة - الثقافة
demarche-loisirs-examples = الحيوانات، رخصة القارب / الصيد، السياحة
state-active = ساري
state-expiring = ينتهي قريبًا
state-expired = منتهٍ
state-revoked = موقوف
state-suspended = معلّق: بلاغ قيد المعالجة
receipts-choice-each_use = عند كل استعمال
receipts-choice-weekly = ملخص كل أسبوع
receipts-choice-never = أبدًا
receipt-kind-mandate_created = إنشاء توكيل
receipt-kind-demarche_revoked = إيقاف إجراء
receipt-kind-mandate_revoked = إيقاف توكيل
receipt-kind-delegated_use = استعمال توكيل
receipt-kind-expiry_reminder = قرب انتهاء توكيل
your-space = فضاؤك
back-home = العودة إلى الصفحة الرئيسية

## Navigation
aide-nav = فضائي
aide-nav-mandates = توكيلاتي
aide-nav-history = ما تم القيام به من أجلي
aide-nav-notices = إشعاراتي
aide-sign-out = تسجيل الخروج

## Entry
aide-entry-title = فضائي
aide-entry-1 = هل تقوم هيئة مساعدة بإجراءات عبر الإنترنت نيابة عنك؟
aide-entry-2 = هنا ترى توكيلاتك.
aide-entry-3 = ترى كل ما تم القيام به باسمك.
aide-entry-4 = يمكنك إيقاف توكيل بنفسك، في أي وقت.
aide-entry-5 = للدخول، استعمل حسابك الخاص في FranceConnect.
aide-entry-franceconnect = تسجيل الدخول عبر
aide-entry-password = لا يجب أن يكتب كلمة السر أحد غيرك.

## No mandate
aide-none-title = لا يوجد توكيل
aide-none-heading = ليس لديك أي توكيل
aide-none-1 = لم نجد أي توكيل باسمك.
aide-none-2 = لذلك لا يمكن لأي هيئة أن تتصرف نيابة عنك بهذه الخدمة.
aide-none-3 = إذا كنت تظن أن هذا خطأ، اسأل الهيئة التي تساعدك.
aide-none-4 = التوكيل الذي انتهى منذ أكثر من سنة يُحذف: لا يظهر هنا بعد الآن.

## My mandates
aide-mandates-intro = هذه كل توكيلاتك، في كل الهيئات.
aide-mandate-dates = وُقّع في { $created }. ينتهي في { $ends }.
aide-mandate-stop-demarche = إيقاف هذا الإجراء
aide-mandate-text = نص التوكيل: النسخة { $version }.
aide-mandate-print = نسختي للطباعة
aide-mandate-code = رمز التحقق:
aide-mandate-verify = التحقق من هذا التوكيل
aide-mandate-stop-all = إيقاف هذا التوكيل كله

## Revoking
aide-revoke-done-title = تم تسجيل الإيقاف
aide-revoke-done = تم. منذ { $at }، لم يعد بإمكان { $organisation } التصرف نيابة عنك.
aide-revoke-done-demarche = تم. منذ { $at }، لم يعد بإمكان { $organisation } التصرف نيابة عنك في إجراء { $demarche }.
aide-revoke-attestation = هذه الصفحة هي شهادتك. يمكنك طباعتها.
aide-revoke-back = العودة إلى توكيلاتي
aide-revoke-title = إيقاف توكيل
aide-revoke-heading-demarche = إيقاف إجراء
aide-revoke-heading-mandate = إيقاف هذا التوكيل
aide-revoke-structure = الهيئة: { $organisation }.
aide-revoke-demarche = الإجراء: { $demarche }.
aide-revoke-all = تتوقف كل الإجراءات التي لا تزال سارية.
aide-revoke-effect = يسري الإيقاف فورًا. لن تتمكن الهيئة من التصرف نيابة عنك بعد الآن.
aide-revoke-effect-demarche = يسري الإيقاف فورًا. لن تتمكن الهيئة من التصرف نيابة عنك في هذا الإجراء بعد الآن.
aide-revoke-confirm = أؤكد الإيقاف
aide-revoke-cancel = إلغاء

## History
aide-history-intro-1 = كل إجراء يتم باسمك يُكتب في سجل لا يمكن لأحد تغييره دون أن يظهر ذلك. الأحدث في الأعلى.
aide-history-intro-2 = «تحقق» يعطي دليلًا، موقّعًا من الخدمة، على أن السطر موجود فعلًا في هذا السجل. يمكن لأي شخص التأكد منه بالمفتاح العام للخدمة.
aide-history-verify = تحقق
aide-history-empty = لا شيء حاليًا.
aide-history-older = عرض الأقدم
history-line = في { $when }، { $who } { $what }.
history-line-demarche = في { $when }، { $who } { $what } — إجراء { $demarche }.
history-who-aidant = { $name } ({ $structure })
history-who-yourself = أنت بنفسك ({ $structure })
history-who-service = الخدمة
history-a-partner-site = موقع شريك
history-delegation-completed = سجّل الدخول نيابة عنك في { $site }
history-mandate-created = أنشأ توكيلًا لك
history-mandate-renewed = جدّد توكيلك
history-mandate-revoked = أوقف توكيلك
history-authorization-revoked = أوقف إجراءً من توكيلك
history-mandate-deleted = حذف توكيلًا انتهى منذ أكثر من سنة
history-report-opened = أبلغ «لم أكن أنا»: التوكيل معلّق
history-report-closed = أغلق بلاغك
history-other = قام بإجراء ({ $action })

## Signed out
aide-signed-out-title = تم تسجيل الخروج
aide-signed-out-heading = لقد سجّلت الخروج
aide-signed-out-closed = جلستك في FranceConnect مغلقة أيضًا.
aide-signed-out-shared = تذكّر إغلاق جلستك في FranceConnect إذا كنت على جهاز مشترك.
aide-signed-out-back = العودة إلى فضائي

## Notices
aide-notices-saved = تم الحفظ.
aide-notices-intro = عندما تتصرف هيئة نيابة عنك، يمكننا أن نرسل إليك إيصالًا بالبريد الإلكتروني.
aide-notices-stored = العنوان المسجّل: { $masked }.
aide-notices-legend = تلقي إيصال
aide-notices-new-address = عنوان بريد إلكتروني جديد (اتركه فارغًا للاحتفاظ بنفس العنوان)
aide-notices-address = عنوان البريد الإلكتروني
aide-notices-save = حفظ

## Receipt check
receipt-genuine-title = إيصال أصلي
receipt-unknown-title = إيصال غير معروف
receipt-genuine = هذا الإيصال أرسلته فعلًا خدمة Aidants Connect.
receipt-about = يتعلق بـ{ $kind }، في { $day }.
receipt-entry = يطابق القيد رقم { $seq } في سجل الخدمة. لا يمكن تغيير هذا القيد بعد الآن دون أن يظهر ذلك: بصمته هي { $hash }.
receipt-entry-soon = سيُكتب القيد المطابق في السجل بعد لحظات: أعد تحميل الصفحة.
receipt-nothing-personal = هذه الصفحة لا تُظهر أي شيء عن الشخص. التفاصيل موجودة في الرسالة المستلمة، وفي فضاء الشخص.
receipt-unknown = لا يطابق أي إيصال هذا الرمز. قد لا تكون هذه الرسالة من Aidants Connect: لا تفتح روابطها.

## “It was not me”
report-received = تلقيت رسالة من Aidants Connect بخصوص { $kind }، في { $day }، لدى الهيئة { $structure }.
report-question = لم تكن أنت، أو لم تكن موافقًا؟
report-suspended-at-once = سيُعلّق التوكيل فورًا: لن يتمكن أحد من استعماله.
report-structure-told = سيتم إخبار الهيئة. ستدرس الوضع معك.
report-submit = لم أكن أنا: أُبلغ
report-do-nothing = لا أفعل شيئًا
report-done = تم. التوكيل معلّق: لا يمكن لأحد استعماله.
report-done-structure = تم إخبار الهيئة { $structure }. ستتصل بك، أو اذهب إليها.
report-ended = هذا التوكيل موقوف أو منتهٍ من قبل. لا يمكن لأحد استعماله: لم يتغير شيء.
report-already = لقد أبلغت عن ذلك من قبل. التوكيل معلّق: لم يتغير شيء.
report-title-confirm = لم أكن أنا
report-title-refused = رابط غير صالح
report-title-opened = تم تسجيل البلاغ
report-title-ended = موقوف من قبل
report-title-already = تم الإبلاغ من قبل
report-link-unknown = هذا الرابط غير صالح. انسخه كاملًا من الرسالة المستلمة.
report-link-used = سبق استعمال هذا الرابط: البلاغ مسجّل.
report-link-expired = انتهت صلاحية هذا الرابط. لإيقاف التوكيل، اذهب إلى فضائك، أو اتصل بالهيئة.
