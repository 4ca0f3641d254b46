## Shared pieces
month-1 = janeiro
month-2 = fevereiro
month-3 = março
month-4 = abril
month-5 = maio
month-6 = junho
month-7 = julho
month-8 = agosto
month-9 = setembro
month-10 = outubro
month-11 = novembro
month-12 = dezembro
written-day = { $day } de { $month } de { $year }
written-time = { $day } às { $hour }:{ $minute }
demarche-papiers = Documentos - Cidadania - Eleições
demarche-papiers-examples = registo civil, passaporte, cartão de identidade, eleições
demarche-famille = Família - Escolaridade
demarche-famille-examples = abonos de família, nascimento, casamento, união de facto (Pacs), escolaridade
demarche-social = Social - Saúde
demarche-social-examples = cartão de saúde (carte Vitale), desemprego, deficiência, RSA, pessoas idosas
demarche-travail = Trabalho - Formação
demarche-travail-examples = contratos a prazo, concursos, reforma, demissão, formação
demarche-logement = Habitação
demarche-logement-examples = apoios à habitação, habitação social, fim de arrendamento
demarche-transports = Transportes - Mobilidade
demarche-transports-examples = registo do veículo, carta de condução, infrações
demarche-argent = Dinheiro - Impostos - Consumo
demarche-argent-examples = impostos, crédito, seguros, sobre-endividamento
demarche-justice = Justiça
demarche-justice-examples = registo criminal, queixa, apoio judiciário
demarche-etranger = Estrangeiros - Europa
demarche-etranger-examples = autorizações de residência, certificado de acolhimento, reagrupamento familiar
demarche-loisirs = Lazer - Desporto - Cultura
demarche-loisirs-examples = animais, licença de barco / caça, turismo
state-active = em vigor
state-expiring = termina em breve
state-expired = terminado
state-revoked = parado
state-suspended = suspenso: alerta em curso
receipts-choice-each_use = Sempre que for usado
receipts-choice-weekly = Um resumo por semana
receipts-choice-never = Nunca
receipt-kind-mandate_created = a criação de um mandato
receipt-kind-demarche_revoked = a revogação de um procedimento
receipt-kind-mandate_revoked = a revogação de um mandato
receipt-kind-delegated_use = uma utilização de um mandato
receipt-kind-expiry_reminder = o fim próximo de um mandato
your-space = O seu espaço
back-home = Voltar ao início

## Navigation
aide-nav = O meu espaço
aide-nav-mandates = Os meus mandatos
aide-nav-history = O que foi feito por mim
aide-nav-notices = Os meus avisos
aide-sign-out = Terminar sessão

## Entry
aide-entry-title = O meu espaço
aide-entry-1 = Uma estrutura de apoio faz procedimentos online por si?
aide-entry-2 = Aqui vê os seus mandatos.
aide-entry-3 = Vê tudo o que foi feito em seu nome.
aide-entry-4 = Pode parar um mandato sozinho, a qualquer momento.
aide-entry-5 = Para entrar, use a sua própria conta FranceConnect.
aide-entry-franceconnect = Identificar-se com
aide-entry-password = Ninguém além de si deve escrever a sua palavra-passe.

## No mandate
aide-none-title = Nenhum mandato
aide-none-heading = Não tem nenhum mandato
aide-none-1 = Não encontrámos nenhum mandato em seu nome.
aide-none-2 = Por isso, nenhuma estrutura pode agir por si com este serviço.
aide-none-3 = Se acha que é um erro, pergunte à estrutura que o ajuda.
aide-none-4 = Um mandato terminado há mais de um ano é apagado: já não aparece aqui.

## My mandates
aide-mandates-intro = Eis todos os seus mandatos, em todas as estruturas.
aide-mandate-dates = Assinado a { $created }. Termina a { $ends }.
aide-mandate-stop-demarche = Parar este procedimento
aide-mandate-text = Texto do mandato: versão { $version }.
aide-mandate-print = A minha cópia para imprimir
aide-mandate-code = Código de verificação:
aide-mandate-verify = verificar este mandato
aide-mandate-stop-all = Parar todo este mandato

## Revoking
aide-revoke-done-title = Revogação registada
aide-revoke-done = Feito. Desde { $at }, { $organisation } já não pode agir por si.
aide-revoke-done-demarche = Feito. Desde { $at }, { $organisation } já não pode agir por si para o procedimento { $demarche }.
aide-revoke-attestation = Esta página é o seu comprovativo. Pode imprimi-la.
aide-revoke-back = Voltar aos meus mandatos
aide-revoke-title = Parar um mandato
aide-revoke-heading-demarche = Parar um procedimento
aide-revoke-heading-mandate = Parar este mandato
aide-revoke-structure = Estrutura: { $organisation }.
aide-revoke-demarche = Procedimento: { $demarche }.
aide-revoke-all = Todos os procedimentos ainda em vigor param.
aide-revoke-effect = A paragem tem efeito imediato. A estrutura deixará de poder agir por si.
aide-revoke-effect-demarche = A paragem tem efeito imediato. A estrutura deixará de poder agir por si para este procedimento.
aide-revoke-confirm = Confirmo a paragem
aide-revoke-cancel = Cancelar

## History
aide-history-intro-1 = Cada ação feita em seu nome é escrita num registo que ninguém pode alterar sem que se note. O mais recente está em cima.
aide-history-intro-2 = «Verificar» dá uma prova, assinada pelo serviço, de que a linha está mesmo neste registo. Qualquer pessoa a pode controlar com a chave pública do serviço.
aide-history-verify = Verificar
aide-history-empty = Nada por agora.
aide-history-older = Ver mais antigo
history-line = Em { $when }, { $who } { $what }.
history-line-demarche = Em { $when }, { $who } { $what } — procedimento { $demarche }.
history-who-aidant = { $name } ({ $structure })
history-who-yourself = você mesmo ({ $structure })
history-who-service = o serviço
history-a-partner-site = um sítio parceiro
history-delegation-completed = ligou-se por si em { $site }
history-mandate-created = criou um mandato para si
history-mandate-renewed = renovou o seu mandato
history-mandate-revoked = revogou o seu mandato
history-authorization-revoked = revogou um procedimento do seu mandato
history-mandate-deleted = apagou um mandato terminado há mais de um ano
history-report-opened = assinalou «Não fui eu»: o mandato está suspenso
history-report-closed = encerrou o seu alerta
history-other = fez uma ação ({ $action })

## Signed out
aide-signed-out-title = Sessão terminada
aide-signed-out-heading = Terminou a sessão
aide-signed-out-closed = A sua sessão FranceConnect também está fechada.
aide-signed-out-shared = Lembre-se de fechar a sua sessão FranceConnect se estiver num aparelho partilhado.
aide-signed-out-back = Voltar ao meu espaço

## Notices
aide-notices-saved = Está guardado.
aide-notices-intro = Quando uma estrutura age por si, podemos enviar-lhe um recibo por correio eletrónico.
aide-notices-stored = Endereço guardado: { $masked }.
aide-notices-legend = Receber um recibo
aide-notices-new-address = Novo endereço de correio eletrónico (deixe vazio para manter o mesmo)
aide-notices-address = Endereço de correio eletrónico
aide-notices-save = Guardar

## Receipt check
receipt-genuine-title = Recibo autêntico
receipt-unknown-title = Recibo desconhecido
receipt-genuine = Este recibo foi mesmo enviado pelo Aidants Connect.
receipt-about = Diz respeito a { $kind }, a { $day }.
receipt-entry = Corresponde à entrada n.º { $seq } do registo do serviço. Esta entrada já não pode ser alterada sem que se note: a sua impressão digital é { $hash }.
receipt-entry-soon = A entrada correspondente do registo será escrita dentro de instantes: recarregue a página.
receipt-nothing-personal = Esta página não mostra nada sobre a pessoa. O detalhe está na mensagem recebida e no espaço da pessoa.
receipt-unknown = Nenhum recibo corresponde a este código. Esta mensagem talvez não venha do Aidants Connect: não abra as suas ligações.

## “It was not me”
report-received = Recebeu uma mensagem do Aidants Connect sobre { $kind }, a { $day }, na estrutura { $structure }.
report-question = Não foi você, ou não estava de acordo?
report-suspended-at-once = O mandato será suspenso imediatamente: ninguém o poderá usar.
report-structure-told = A estrutura será avisada. Verá a situação consigo.
report-submit = Não fui eu: assinalo
report-do-nothing = Não fazer nada
report-done = Feito. O mandato está suspenso: ninguém o pode usar.
report-done-structure = A estrutura { $structure } foi avisada. Vai contactá-lo, ou pode ir lá.
report-ended = Este mandato já está parado ou terminado. Ninguém o pode usar: nada foi alterado.
report-already = Já o assinalou. O mandato está suspenso: nada foi alterado.
report-title-confirm = Não fui eu
report-title-refused = Ligação inválida
report-title-opened = Alerta registado
report-title-ended = Já parado
report-title-already = Já assinalado
report-link-unknown = Esta ligação não é válida. Copie-a inteira a partir da mensagem recebida.
report-link-used = Esta ligação já foi usada: o alerta está registado.
report-link-expired = Esta ligação expirou. Para parar o mandato, vá ao seu espaço ou ligue para a estrutura.
