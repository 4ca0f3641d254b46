## Shared pieces
month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre
written-day = { $day } de { $month } de { $year }
written-time = { $day } a las { $hour }:{ $minute }
demarche-papiers = Documentos - Ciudadanía - Elecciones
demarche-papiers-examples = estado civil, pasaporte, documento de identidad, elecciones
demarche-famille = Familia - Escolaridad
demarche-famille-examples = prestaciones familiares, nacimiento, matrimonio, pareja de hecho (Pacs), escolaridad
demarche-social = Social - Salud
demarche-social-examples = tarjeta sanitaria (carte Vitale), desempleo, discapacidad, RSA, personas mayores
demarche-travail = Trabajo - Formación
demarche-travail-examples = contratos temporales, oposiciones, jubilación, dimisión, formación
demarche-logement = Vivienda
demarche-logement-examples = ayudas a la vivienda, vivienda social, fin de alquiler
demarche-transports = Transportes - Movilidad
demarche-transports-examples = permiso de circulación, permiso de conducir, infracciones
demarche-argent = Dinero - Impuestos - Consumo
demarche-argent-examples = impuestos, crédito, seguros, sobreendeudamiento
demarche-justice = Justicia
demarche-justice-examples = antecedentes penales, denuncia, asistencia jurídica gratuita
demarche-etranger = Extranjería - Europa
demarche-etranger-examples = permisos de residencia, certificado de acogida, reagrupación familiar
demarche-loisirs = Ocio - Deporte - Cultura
demarche-loisirs-examples = animales, licencia de navegación / caza, turismo
state-active = en vigor
state-expiring = termina pronto
state-expired = terminado
state-revoked = detenido
state-suspended = suspendido: aviso en curso
receipts-choice-each_use = Cada vez que se use
receipts-choice-weekly = Un resumen cada semana
receipts-choice-never = Nunca
receipt-kind-mandate_created = la creación de un mandato
receipt-kind-demarche_revoked = la retirada de un trámite
receipt-kind-mandate_revoked = la retirada de un mandato
receipt-kind-delegated_use = un uso de un mandato
receipt-kind-expiry_reminder = el próximo fin de un mandato
your-space = Su espacio
back-home = Volver al inicio

## Navigation
aide-nav = Mi espacio
aide-nav-mandates = Mis mandatos
aide-nav-history = Lo que se hizo por mí
aide-nav-notices = Mis avisos
aide-sign-out = Cerrar sesión

## Entry
aide-entry-title = Mi espacio
aide-entry-1 = ¿Una entidad de ayuda hace trámites en línea por usted?
aide-entry-2 = Aquí ve sus mandatos.
aide-entry-3 = Ve todo lo que se hizo en su nombre.
aide-entry-4 = Puede detener un mandato usted mismo, en cualquier momento.
aide-entry-5 = Para entrar, use su propia cuenta FranceConnect.
aide-entry-franceconnect = Identificarse con
aide-entry-password = Nadie más que usted debe escribir su contraseña.

## No mandate
aide-none-title = Ningún mandato
aide-none-heading = No tiene ningún mandato
aide-none-1 = No hemos encontrado ningún mandato a su nombre.
aide-none-2 = Por lo tanto, ninguna entidad puede actuar por usted con este servicio.
aide-none-3 = Si cree que es un error, pregunte a la entidad que le ayuda.
aide-none-4 = Un mandato terminado hace más de un año se borra: ya no aparece aquí.

## My mandates
aide-mandates-intro = Estos son todos sus mandatos, en todas las entidades.
aide-mandate-dates = Firmado el { $created }. Termina el { $ends }.
aide-mandate-stop-demarche = Detener este trámite
aide-mandate-text = Texto del mandato: versión { $version }.
aide-mandate-print = Mi copia para imprimir
aide-mandate-code = Código de verificación:
aide-mandate-verify = verificar este mandato
aide-mandate-stop-all = Detener todo este mandato

## Revoking
aide-revoke-done-title = Retirada registrada
aide-revoke-done = Hecho. Desde el { $at }, { $organisation } ya no puede actuar por usted.
aide-revoke-done-demarche = Hecho. Desde el { $at }, { $organisation } ya no puede actuar por usted para el trámite { $demarche }.
aide-revoke-attestation = Esta página es su justificante. Puede imprimirla.
aide-revoke-back = Volver a mis mandatos
aide-revoke-title = Detener un mandato
aide-revoke-heading-demarche = Detener un trámite
aide-revoke-heading-mandate = Detener este mandato
aide-revoke-structure = Entidad: { $organisation }.
aide-revoke-demarche = Trámite: { $demarche }.
aide-revoke-all = Se detienen todos los trámites todavía en vigor.
aide-revoke-effect = La retirada tiene efecto inmediato. La entidad ya no podrá actuar por usted.
aide-revoke-effect-demarche = La retirada tiene efecto inmediato. La entidad ya no podrá actuar por usted para este trámite.
aide-revoke-confirm = Confirmo la retirada
aide-revoke-cancel = Cancelar

## History
aide-history-intro-1 = Cada acción hecha en su nombre se escribe en un registro que nadie puede cambiar sin que se note. Lo más reciente está arriba.
aide-history-intro-2 = «Verificar» da una prueba, firmada por el servicio, de que la línea está en este registro. Cualquiera puede comprobarla con la clave pública del servicio.
aide-history-verify = Verificar
aide-history-empty = Nada por ahora.
aide-history-older = Ver lo anterior
history-line = El { $when }, { $who } { $what }.
history-line-demarche = El { $when }, { $who } { $what } — trámite { $demarche }.
history-who-aidant = { $name } ({ $structure })
history-who-yourself = usted mismo ({ $structure })
history-who-service = el servicio
history-a-partner-site = un sitio asociado
history-delegation-completed = se conectó por usted en { $site }
history-mandate-created = creó un mandato para usted
history-mandate-renewed = renovó su mandato
history-mandate-revoked = retiró su mandato
history-authorization-revoked = retiró un trámite de su mandato
history-mandate-deleted = borró un mandato terminado hace más de un año
history-report-opened = indicó «No fui yo»: el mandato está suspendido
history-report-closed = cerró su aviso
history-other = hizo una acción ({ $action })

## Signed out
aide-signed-out-title = Sesión cerrada
aide-signed-out-heading = Ha cerrado la sesión
aide-signed-out-closed = Su sesión FranceConnect también está cerrada.
aide-signed-out-shared = Recuerde cerrar su sesión FranceConnect si usa un aparato compartido.
aide-signed-out-back = Volver a mi espacio

## Notices
aide-notices-saved = Guardado.
aide-notices-intro = Cuando una entidad actúa por usted, podemos enviarle un recibo por correo electrónico.
aide-notices-stored = Dirección guardada: { $masked }.
aide-notices-legend = Recibir un recibo
aide-notices-new-address = Nueva dirección de correo electrónico (déjela vacía para conservar la misma)
aide-notices-address = Dirección de correo electrónico
aide-notices-save = Guardar

## Receipt check
receipt-genuine-title = Recibo auténtico
receipt-unknown-title = Recibo desconocido
receipt-genuine = Este recibo fue enviado realmente por Aidants Connect.
receipt-about = Trata de { $kind }, el { $day }.
receipt-entry = Corresponde a la entrada n.º { $seq } del registro del servicio. Esta entrada ya no se puede cambiar sin que se note: su huella es { $hash }.
receipt-entry-soon = La entrada del registro correspondiente se escribirá en unos instantes: vuelva a cargar la página.
receipt-nothing-personal = Esta página no muestra nada de la persona. El detalle está en el mensaje recibido y en el espacio de la persona.
receipt-unknown = Ningún recibo corresponde a este código. Puede que este mensaje no venga de Aidants Connect: no abra sus enlaces.

## “It was not me”
report-received = Recibió un mensaje de Aidants Connect sobre { $kind }, el { $day }, en la entidad { $structure }.
report-question = ¿No fue usted, o no estaba de acuerdo?
report-suspended-at-once = El mandato se suspenderá enseguida: nadie podrá usarlo.
report-structure-told = Se avisará a la entidad. Verá la situación con usted.
report-submit = No fui yo: lo indico
report-do-nothing = No hacer nada
report-done = Hecho. El mandato está suspendido: nadie puede usarlo.
report-done-structure = La entidad { $structure } está avisada. Le contactará, o puede ir a verla.
report-ended = Este mandato ya está detenido o terminado. Nadie puede usarlo: no se ha cambiado nada.
report-already = Ya lo indicó. El mandato está suspendido: no se ha cambiado nada.
report-title-confirm = No fui yo
report-title-refused = Enlace no válido
report-title-opened = Aviso registrado
report-title-ended = Ya detenido
report-title-already = Ya indicado
report-link-unknown = Este enlace no es válido. Cópielo entero desde el mensaje recibido.
report-link-used = Este enlace ya se ha usado: el aviso está registrado.
report-link-expired = Este enlace ha caducado. Para detener el mandato, vaya a su espacio o llame a la entidad.
